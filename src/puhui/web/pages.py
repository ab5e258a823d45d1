"""The shell's pages: sign in, sign out, the home page of each role. No SQL here."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from puhui.accounts.service import authenticate_user, get_bank
from puhui.web.deps import DbSession, OptionalActor, PageActor, SettingsDep
from puhui.web.i18n import N_, translator
from puhui.web.nav import links_for
from puhui.web.security import end_session, login_key, start_session
from puhui.web.templating import render

router = APIRouter(include_in_schema=False)

#: Role names as pages show them (English source strings; the catalogues translate them).
ROLE_LABELS = {
    "enterprise": N_("Business"),
    "bank_officer": N_("Bank officer"),
    "bank_admin": N_("Bank administrator"),
    "customer_manager": N_("Customer manager"),
    "government": N_("Government"),
    "operator": N_("Platform operator"),
    "bank_system": N_("Bank system"),
}


def safe_next(target: str | None) -> str:
    """Only a path on this site (never ``//host`` or ``https://…``): no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return "/"
    return target


@router.get("/", response_class=Response)
def home(request: Request, actor: PageActor, db: DbSession) -> Response:
    bank = get_bank(db, actor.bank_code) if actor.bank_code else None
    return render(
        request,
        "home.html",
        {
            "actor": actor,
            "bank": bank,
            "role_label": ROLE_LABELS.get(str(actor.role), str(actor.role)),
            "links": links_for(actor),
        },
    )


@router.get("/login", response_class=Response)
def login_page(request: Request, actor: OptionalActor, next: str | None = None) -> Response:
    if actor is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "username": ""})


@router.post("/login", response_class=Response)
def login(
    request: Request,
    db: DbSession,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    _ = translator(request)
    limiter = request.app.state.login_limiter
    key = login_key(request, username)
    wait = limiter.retry_after(key)
    if wait:
        error = _("Too many failed sign-ins. Try again in %(seconds)s seconds.", seconds=wait)
        return render(
            request,
            "login.html",
            {"error": error, "next": safe_next(next), "username": username},
            status_code=429,
            headers={"Retry-After": str(wait)},
        )
    user = authenticate_user(db, username, password)
    if user is None:
        limiter.failed(key)
        return render(
            request,
            "login.html",
            {
                "error": _("Wrong username or password."),
                "next": safe_next(next),
                "username": username,
            },
            status_code=401,
        )
    limiter.succeeded(key)
    start_session(request, db, user, settings.session_hours)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", response_class=Response)
def logout(request: Request, db: DbSession) -> Response:
    end_session(request, db)
    return RedirectResponse("/login", status_code=303)
