"""Consent pages: a business sees, grants and revokes its consents; a bank user sees its
bank's. Thin: the consent service decides who sees and may do what."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from puhui.accounts.actor import Actor, Role
from puhui.accounts.service import list_banks
from puhui.consent.service import (
    MAX_DAYS,
    MIN_DAYS,
    ConsentError,
    grant,
    list_for,
    revoke,
    status_of,
)
from puhui.features.access import profile_names
from puhui.pagination import PageRequest
from puhui.web.deps import DbSession, PageActor
from puhui.web.i18n import N_, locale_of
from puhui.web.nav import NavLink, register
from puhui.web.templating import add_template_dir, render

router = APIRouter(include_in_schema=False)
add_template_dir(Path(__file__).parent / "templates")

PAGE_SIZE = 50
STATUS_LABELS = {"live": N_("Live"), "expired": N_("Expired"), "revoked": N_("Revoked")}

register(
    NavLink(
        "/consents",
        N_("Consents"),
        roles=frozenset(
            {
                Role.ENTERPRISE,
                Role.BANK_OFFICER,
                Role.BANK_ADMIN,
                Role.CUSTOMER_MANAGER,
                Role.OPERATOR,
            }
        ),
        description=N_("Which banks may read a business's profile, and until when"),
    )
)


def _may_grant(actor: Actor) -> bool:
    return (actor.role is Role.ENTERPRISE and bool(actor.uscc)) or actor.is_operator


def _page(
    request: Request,
    db: DbSession,
    actor: Actor,
    page: int = 1,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    result = list_for(db, actor, PageRequest(page=max(page, 1), size=PAGE_SIZE))
    rows = [{"consent": consent, "status": status_of(consent)} for consent in result.items]
    names = profile_names(db, [consent.uscc for consent in result.items])
    return render(
        request,
        "consent/consents.html",
        {
            "actor": actor,
            "rows": rows,
            "names": names,
            "status_labels": STATUS_LABELS,
            "may_grant": _may_grant(actor),
            "may_revoke": _may_grant(actor),
            "banks": list_banks(db) if _may_grant(actor) else [],
            "min_days": MIN_DAYS,
            "max_days": MAX_DAYS,
            "page": result.page,
            "has_next": result.page * result.size < result.total,
            "total": result.total,
            "error": error,
        },
        status_code=status_code,
    )


def _message(request: Request, error: ConsentError) -> str:
    return error.message_zh if locale_of(request) == "zh_CN" else error.message_en


@router.get("/consents", response_class=Response)
def consents_page(request: Request, actor: PageActor, db: DbSession, page: int = 1) -> Response:
    return _page(request, db, actor, page)


@router.post("/consents", response_class=Response)
def grant_consent(
    request: Request,
    actor: PageActor,
    db: DbSession,
    bank_code: Annotated[str, Form(max_length=32)],
    days: Annotated[int, Form()] = 90,
    note: Annotated[str, Form(max_length=500)] = "",
    uscc: Annotated[str | None, Form(max_length=18)] = None,
) -> Response:
    try:
        grant(db, actor, bank_code, days, uscc=uscc or None, note=note)
    except ConsentError as error:
        # Nothing was written: the page shows why, with the list as it is.
        return _page(
            request, db, actor, error=_message(request, error), status_code=error.http_status
        )
    return RedirectResponse("/consents", status_code=303)


@router.post("/consents/{consent_id}/revoke", response_class=Response)
def revoke_consent(request: Request, consent_id: int, actor: PageActor, db: DbSession) -> Response:
    try:
        revoke(db, actor, consent_id)
    except ConsentError as error:
        return _page(
            request, db, actor, error=_message(request, error), status_code=error.http_status
        )
    return RedirectResponse("/consents", status_code=303)
