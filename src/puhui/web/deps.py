"""Dependencies every endpoint uses: the request's database session, its actor, its paging.

- ``db: DbSession`` — one session per request, committed once when the handler returns
  (before the response is sent), rolled back if it raised.
- ``actor: CurrentActor`` — the caller, from ``Authorization: Bearer …`` or the page
  session; 401 problem if neither. ``Depends(require_roles(Role.OPERATOR, …))`` adds 403.
- ``actor: PageActor`` — the same for pages; redirects to the login page instead of 401.
- ``page: PageQuery`` — ``?page=&size=`` (see :mod:`puhui.web.pagination`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlowPassword, OAuthFlows
from fastapi.security import OAuth2
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor, Role
from puhui.accounts.service import resolve_token
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


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def db_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: services flush, this commits once."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": commit before the response is sent, so a failed commit is a 500, not
# a 200 for a change that was lost.
DbSession = Annotated[Session, Depends(db_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(app_settings)]

#: A row id in a path (``/products/{product_id}``): a larger one than the database keys
#: hold is a 422, never an overflow in the database.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def optional_actor(
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
        actor = resolve_token(db, value.strip(), purpose="api")
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
    actor = resolve_token(db, session_id, purpose="session")
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


def current_actor(actor: OptionalActor) -> Actor:
    """The caller of an API endpoint; 401 problem when there is none."""
    if actor is None:
        raise Problem(401, detail=N_("Sign in or send a bearer token."), headers=BEARER_CHALLENGE)
    return actor


def page_actor(actor: OptionalActor) -> Actor:
    """The signed-in user of a page; anyone else is sent to the login page."""
    if actor is None:
        raise LoginRequired
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]
PageActor = Annotated[Actor, Depends(page_actor)]


def require_roles(*roles: Role) -> Callable[[Actor], Actor]:
    """A dependency: the caller, if they have one of ``roles``; 403 otherwise."""

    def check(actor: CurrentActor) -> Actor:
        if actor.role not in roles:
            raise Problem(403)
        return actor

    return check
