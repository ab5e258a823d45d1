"""Accounts API under ``/api/v1``: tokens (OAuth2), who am I, and the users one may see.

Thin: parse, call the service, translate. No SQL here.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from puhui.accounts.schemas import MeOut, TokenOut, UserOut
from puhui.accounts.service import (
    authenticate_client,
    authenticate_user,
    get_bank,
    issue_token,
    list_users,
)
from puhui.web.deps import CurrentActor, DbSession, SettingsDep
from puhui.web.i18n import N_
from puhui.web.pagination import Page, PageQuery
from puhui.web.problems import CREDENTIALS_TYPE, PROBLEM_RESPONSES, Problem
from puhui.web.security import login_key

router = APIRouter(tags=["accounts"], responses=PROBLEM_RESPONSES)


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """client_id and secret from ``Authorization: Basic`` (RFC 6749 §2.3.1), if sent."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        client_id, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


def _bad_credentials(error: str) -> Problem:
    return Problem(
        401,
        N_("Wrong credentials"),
        N_("The name or the secret is wrong, or the account is disabled."),
        type_=CREDENTIALS_TYPE,
        headers={"WWW-Authenticate": "Bearer", "Cache-Control": "no-store"},
        error=error,  # the OAuth2 error code (RFC 6749 §5.2), for OAuth2 client libraries
    )


@router.post(
    "/token",
    response_model=TokenOut,
    summary="Get a bearer token (OAuth2 password or client_credentials grant)",
)
def token(
    request: Request,
    response: Response,
    db: DbSession,
    settings: SettingsDep,
    grant_type: Annotated[str, Form(description="password or client_credentials")],
    username: Annotated[str | None, Form()] = None,
    password: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    scope: Annotated[
        str | None, Form(description="ignored: a token has its owner's rights")
    ] = None,
) -> TokenOut:
    """Form-encoded as RFC 6749 asks. ``password``: a user's ``username`` and ``password``.
    ``client_credentials``: a bank system's ``client_id`` and ``client_secret``, in the form
    or as HTTP Basic. Returns an opaque token valid for ``expires_in`` seconds."""
    ttl = timedelta(minutes=settings.token_minutes)
    response.headers["Cache-Control"] = "no-store"
    if grant_type == "password":
        if not username or password is None:
            raise Problem(400, detail=N_("The password grant needs username and password."))
        limiter = request.app.state.login_limiter
        key = login_key(request, username)
        wait = limiter.retry_after(key)
        if wait:
            raise Problem(
                429,
                detail=N_("Too many failed sign-ins. Try again in %(seconds)s seconds."),
                values={"seconds": wait},
                headers={"Retry-After": str(wait)},
            )
        user = authenticate_user(db, username, password)
        if user is None:
            limiter.failed(key)
            raise _bad_credentials("invalid_grant")
        limiter.succeeded(key)
        issued = issue_token(db, user, ttl)
    elif grant_type == "client_credentials":
        basic = _basic_credentials(request)
        if basic is not None:
            client_id, client_secret = basic
        if not client_id or client_secret is None:
            raise Problem(
                400, detail=N_("The client_credentials grant needs client_id and client_secret.")
            )
        client = authenticate_client(db, client_id, client_secret)
        if client is None:
            raise _bad_credentials("invalid_client")
        issued = issue_token(db, client, ttl)
    else:
        raise Problem(
            400,
            detail=N_("grant_type must be password or client_credentials."),
            error="unsupported_grant_type",
        )
    return TokenOut(access_token=issued.value, expires_in=issued.expires_in)


@router.get("/me", response_model=MeOut, summary="Who the caller is")
def me(actor: CurrentActor, db: DbSession) -> MeOut:
    bank = get_bank(db, actor.bank_code) if actor.bank_code else None
    return MeOut.of(actor, bank)


@router.get(
    "/users",
    response_model=Page[UserOut],
    summary="Users the caller may see (operator: all; bank admin: own bank; others: self)",
)
def users(actor: CurrentActor, db: DbSession, page: PageQuery) -> Page[UserOut]:
    return Page[UserOut].of(list_users(db, actor, page), UserOut.of)
