"""Dependencies every endpoint uses: the request's database session, its actor, its paging.

- ``db: DbSession`` — one session per request, committed once when the handler returns
  (before the response is sent), rolled back if it raised.
- ``actor: CurrentActor`` — the caller, from ``Authorization: Bearer …`` or the page
  session; 401 problem if neither. ``Depends(require_roles(Role.OPERATOR, …))`` adds 403.
- ``actor: PageActor`` — the same for pages; redirects to the login page instead of 401.
- ``page: PageQuery`` — ``?page=&size=`` (see :mod:`puhui.web.pagination`).

Every request passes through these, so they are kept cheap (docs/decisions.md, "Under
load"): they are ``async`` and go to the thread pool only for database work (a sync
dependency costs a thread-pool hop each); a verified token is kept in the app's
:class:`~puhui.accounts.tokens.TokenCache`; and on PostgreSQL a request's audit rows are
chained after it commits by the worker's :class:`~puhui.accounts.chainer.AuditChainer`
(``PUHUI_AUDIT_CHAIN``), so that requests do not queue on the audit chain's head.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Path, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlowPassword, OAuthFlows
from fastapi.security import OAuth2
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor, Role
from puhui.accounts.chain import WROTE_WAITING, defer_chain
from puhui.accounts.chainer import AuditChainer
from puhui.accounts.service import TokenPurpose, resolve_token_until, token_hash, utcnow
from puhui.accounts.tokens import TokenCache
from puhui.db import MAX_ROW_ID
from puhui.settings import Settings
from puhui.web.i18n import N_
from puhui.web.pagination import PageQuery as PageQuery
from puhui.web.problems import LoginRequired, Problem
from puhui.web.security import CSRF_HEADER, SAFE_METHODS, SESSION_ID, csrf_matches

TOKEN_URL = "/api/v1/token"

#: Documents both OAuth2 flows in OpenAPI; the header itself is parsed below.
oauth2_scheme = OAuth2(
    flows=OAuthFlows(
        password=OAuthFlowPassword(tokenUrl=TOKEN_URL),
        clientCredentials=OAuthFlowClientCredentials(tokenUrl=TOKEN_URL),
    ),
    scheme_name="bearer",
    auto_error=False,
)
BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@dataclass(frozen=True)
class HotPath:
    """Per app (so per worker process): the token cache, and the audit chainer when the
    audit chain is deferred."""

    tokens: TokenCache
    chainer: AuditChainer | None


_hot_lock = threading.Lock()


def hot_path(app: FastAPI) -> HotPath:
    """The app's :class:`HotPath`, made on first use."""
    found = getattr(app.state, "hot_path", None)
    if found is None:
        with _hot_lock:
            found = getattr(app.state, "hot_path", None)
            if found is None:
                settings: Settings = app.state.settings
                engine = app.state.engine
                mode = settings.audit_chain
                if mode == "auto":
                    mode = "deferred" if engine.dialect.name == "postgresql" else "inline"
                chainer = (
                    AuditChainer(app.state.session_factory, interval=settings.audit_chain_seconds)
                    if mode == "deferred"
                    else None
                )
                tokens = TokenCache(settings.token_cache_seconds)
                tokens.listen(engine)
                found = app.state.hot_path = HotPath(tokens, chainer)
                if chainer is not None:
                    chainer.wake()  # rows a stopped worker left are chained at once
    assert isinstance(found, HotPath)
    return found


def stop_hot_path(app: FastAPI) -> None:
    """At the app's shutdown: stop the chainer after chaining what this worker left."""
    found = getattr(app.state, "hot_path", None)
    if isinstance(found, HotPath) and found.chainer is not None:
        found.chainer.stop()


def _commit(session: Session) -> None:
    try:
        session.commit()
    finally:
        session.close()


def _rollback(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


async def db_session(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work: services flush, this commits once (in the thread pool:
    one hop). Audit rows left waiting by a deferred session wake the chainer after it."""
    hot = hot_path(request.app)
    session: Session = request.app.state.session_factory()
    if hot.chainer is not None:
        defer_chain(session)
    try:
        yield session
    except BaseException:
        await run_in_threadpool(_rollback, session)
        raise
    await run_in_threadpool(_commit, session)
    if hot.chainer is not None and session.info.get(WROTE_WAITING):
        hot.chainer.wake()


# scope="function": commit before the response is sent, so a failed commit is a 500, not
# a 200 for a change that was lost.
DbSession = Annotated[Session, Depends(db_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(app_settings)]

#: A row id in a path (``/products/{product_id}``): a larger one than the database keys
#: hold is a 422, never an overflow in the database.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


async def _resolve(
    request: Request, db: Session, value: str, purpose: TokenPurpose
) -> Actor | None:
    """The actor of a token: from the app's cache, else from the database (and kept)."""
    cache = hot_path(request.app).tokens
    hashed = token_hash(value)
    actor = cache.get(hashed, purpose)
    if actor is not None:
        return actor
    generation, now = cache.generation, utcnow()
    found = await run_in_threadpool(resolve_token_until, db, value, purpose, now)
    if found is None:
        return None
    actor, expires_at = found
    cache.put(hashed, purpose, actor, expires_at, now, generation)
    return actor


async def optional_actor(
    request: Request,
    db: DbSession,
    authorization: Annotated[str | None, Security(oauth2_scheme)] = None,
) -> Actor | None:
    """The caller, or None when anonymous. A bearer token that does not resolve is a 401
    (never silently anonymous); a session cookie that does not is dropped."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Problem(
                401, detail=N_("Send Authorization: Bearer <token>."), headers=BEARER_CHALLENGE
            )
        actor = await _resolve(request, db, value.strip(), "api")
        if actor is None:
            raise Problem(
                401,
                detail=N_("The token is unknown, expired or revoked."),
                headers=BEARER_CHALLENGE,
            )
        return actor
    if "session" not in request.scope:
        return None
    session_id = request.session.get(SESSION_ID)
    if not isinstance(session_id, str):
        return None
    actor = await _resolve(request, db, session_id, "session")
    if actor is None:
        request.session.clear()
        return None
    # An API call that rides on the cookie can be forged by another site: demand the header.
    if (
        request.url.path.startswith("/api/")
        and request.method not in SAFE_METHODS
        and not csrf_matches(request, request.headers.get(CSRF_HEADER))
    ):
        raise Problem(403, detail=N_("Send the X-CSRF-Token header with a session cookie."))
    return actor


OptionalActor = Annotated[Actor | None, Depends(optional_actor)]


async def current_actor(actor: OptionalActor) -> Actor:
    """The caller of an API endpoint; 401 problem when there is none."""
    if actor is None:
        raise Problem(401, detail=N_("Sign in or send a bearer token."), headers=BEARER_CHALLENGE)
    return actor


async def page_actor(actor: OptionalActor) -> Actor:
    """The signed-in user of a page; anyone else is sent to the login page."""
    if actor is None:
        raise LoginRequired
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]
PageActor = Annotated[Actor, Depends(page_actor)]


def require_roles(*roles: Role) -> Callable[[Actor], Awaitable[Actor]]:
    """A dependency: the caller, if they have one of ``roles``; 403 otherwise."""

    async def check(actor: CurrentActor) -> Actor:
        if actor.role not in roles:
            raise Problem(403)
        return actor

    return check
