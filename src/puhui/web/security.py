"""Sessions, CSRF and sign-in throttling for pages.

The session cookie (Starlette's ``SessionMiddleware``: signed with itsdangerous, HttpOnly,
SameSite=Lax, Secure unless ``PUHUI_COOKIE_SECURE=false``) holds only two values: the page
session token (stored server-side as a hash in ``api_tokens``, so logging out or disabling a
user ends it at once) and the CSRF token of the session.

Every unsafe request to a page must carry the CSRF token: the form field ``csrf_token`` or
the header ``X-CSRF-Token``. The app factory adds :func:`check_csrf` to every page router.
API calls with a bearer token need none (a browser never sends one by itself); an API call
that relies on the session cookie must send the header (see :mod:`puhui.web.deps`).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from datetime import timedelta
from hmac import compare_digest

from fastapi import Request
from sqlalchemy.orm import Session

from puhui.accounts.models import User
from puhui.accounts.service import issue_token, revoke_token
from puhui.web.i18n import N_
from puhui.web.problems import Problem

SESSION_COOKIE = "puhui_session"
SESSION_ID = "sid"
CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def csrf_token(request: Request) -> str:
    """This session's CSRF token (made on first use, so a login form has one too)."""
    token = request.session.get(CSRF_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session[CSRF_KEY] = token
    return token


def csrf_matches(request: Request, supplied: str | None) -> bool:
    expected = request.session.get(CSRF_KEY)
    return (
        isinstance(expected, str)
        and isinstance(supplied, str)
        and compare_digest(expected.encode(), supplied.encode())
    )


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe page request without this session's CSRF token (403)."""
    if request.method in SAFE_METHODS:
        return
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            supplied = value if isinstance(value, str) else None
    if not csrf_matches(request, supplied):
        raise Problem(
            403,
            N_("Forbidden"),
            N_(
                "This form has expired or did not come from this site. "
                "Reload the page and try again."
            ),
        )


def start_session(request: Request, db: Session, user: User, hours: int) -> None:
    """Sign ``user`` in: a fresh server-side session and a fresh CSRF token (no fixation)."""
    issued = issue_token(db, user, timedelta(hours=hours), purpose="session")
    request.session.clear()
    request.session[SESSION_ID] = issued.value
    request.session[CSRF_KEY] = secrets.token_urlsafe(32)


def end_session(request: Request, db: Session) -> None:
    value = request.session.get(SESSION_ID)
    if isinstance(value, str):
        revoke_token(db, value)
    request.session.clear()


class LoginLimiter:
    """At most ``attempts`` failed sign-ins per (address, name) within ``window`` seconds.

    Kept in memory of one process: with several workers each counts its own, which still
    slows a guesser down by the same factor. A shared store can replace it later.
    """

    def __init__(self, attempts: int, window: float) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: tuple[str, str], now: float | None = None) -> int:
        """Seconds until ``key`` may try again (0: now)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            failures = self._failures.get(key)
            if not failures:
                return 0
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if len(failures) < self.attempts:
                return 0
            return max(1, int(failures[0] + self.window - now + 0.999))

    def failed(self, key: tuple[str, str], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._failures) > 100_000:  # never grow without bound under a flood
                self._failures.clear()
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)


def login_key(request: Request, username: str) -> tuple[str, str]:
    address = request.client.host if request.client else "?"
    return address, username.strip().lower()
