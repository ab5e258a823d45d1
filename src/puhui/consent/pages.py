"""Consent pages: a business sees, grants (naming the bank, the profile sections and the
days) and revokes its consents; a bank user sees its bank's; each consent has a page with
its ledger entries. Thin: the consent service decides who sees and may do what."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from puhui.accounts.actor import Actor, Role
from puhui.accounts.service import list_banks, utcnow
from puhui.consent.models import Consent
from puhui.consent.service import (
    MAX_DAYS,
    MIN_DAYS,
    ConsentError,
    consent_history,
    grant,
    list_for,
    revoke,
    status_of,
)
from puhui.features.access import profile_names
from puhui.features.profile import PROFILE_SECTIONS
from puhui.pagination import PageRequest
from puhui.web.deps import DbSession, PageActor
from puhui.web.i18n import N_, locale_of
from puhui.web.nav import NavLink, register
from puhui.web.pagination import PageNumber
from puhui.web.problems import problem_response
from puhui.web.templating import add_template_dir, render

router = APIRouter(include_in_schema=False)
add_template_dir(Path(__file__).parent / "templates")

PAGE_SIZE = 50
STATUS_LABELS = {"live": N_("Live"), "expired": N_("Expired"), "revoked": N_("Revoked")}
#: Each profile section: its name and what it holds (English sources, translated).
SECTION_LABELS: dict[str, tuple[str, str]] = {
    "registration": (
        N_("Registration"),
        N_("Register entry: name, type, capital, address, legal representative (id masked)"),
    ),
    "relations": (
        N_("Relations"),
        N_("Shareholders, the representative's other businesses, supply-chain partners"),
    ),
    "operations": (
        N_("Operations"),
        N_("24 months of revenue, tax, insured headcount, electricity and water"),
    ),
    "assets": (N_("Assets"), N_("Real estate, its value and mortgages")),
    "risk": (N_("Risk"), N_("Penalties, court cases, abnormal listings, arrears")),
    "tags": (N_("Tags"), N_("Honours, carbon grade, industry, policy lists")),
    "features": (N_("Features"), N_("The computed indicators the credit scores use")),
}
EVENT_LABELS = {"grant": N_("Grant"), "revoke": N_("Revoke")}
assert set(SECTION_LABELS) == set(PROFILE_SECTIONS)

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


def _days_left(consent: Consent) -> int:
    """Whole days until a live consent ends (0 on its last day)."""
    return max((consent.expires_at - utcnow()).days, 0)


def _row(consent: Consent) -> dict[str, Any]:
    status = status_of(consent)
    return {
        "consent": consent,
        "status": status,
        "sections": consent.section_list,
        "all_sections": consent.section_list == PROFILE_SECTIONS,
        "days_left": _days_left(consent) if status == "live" else None,
    }


def _page(
    request: Request,
    db: DbSession,
    actor: Actor,
    page: int = 1,
    error: str | None = None,
    status_code: int = 200,
    form: dict[str, Any] | None = None,
) -> Response:
    result = list_for(db, actor, PageRequest(page=max(page, 1), size=PAGE_SIZE))
    names = profile_names(db, [consent.uscc for consent in result.items])
    return render(
        request,
        "consent/consents.html",
        {
            "actor": actor,
            "rows": [_row(consent) for consent in result.items],
            "names": names,
            "status_labels": STATUS_LABELS,
            "section_labels": SECTION_LABELS,
            "section_order": PROFILE_SECTIONS,
            "may_grant": _may_grant(actor),
            "may_revoke": _may_grant(actor),
            "banks": list_banks(db) if _may_grant(actor) else [],
            "min_days": MIN_DAYS,
            "max_days": MAX_DAYS,
            "form": form or {"days": 90, "sections": PROFILE_SECTIONS},
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
def consents_page(
    request: Request, actor: PageActor, db: DbSession, page: PageNumber = 1
) -> Response:
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
    sections: Annotated[list[str] | None, Form()] = None,
    sections_offered: Annotated[str | None, Form(max_length=1)] = None,
) -> Response:
    """``sections`` are the ticked boxes; ``sections_offered`` says the form had them, so
    that ticking none is an error rather than "every section"."""
    chosen = sections or ([] if sections_offered else None)
    try:
        grant(db, actor, bank_code, days, uscc=uscc or None, note=note, sections=chosen)
    except ConsentError as error:
        # Nothing was written: the page shows why, with the list as it is and the form as
        # it was filled in.
        form = {
            "bank_code": bank_code,
            "days": days,
            "note": note,
            "uscc": uscc or "",
            "sections": tuple(chosen) if chosen is not None else PROFILE_SECTIONS,
        }
        return _page(
            request,
            db,
            actor,
            error=_message(request, error),
            status_code=error.http_status,
            form=form,
        )
    return RedirectResponse("/consents", status_code=303)


@router.get("/consents/{consent_id}", response_class=Response)
def consent_page(request: Request, consent_id: int, actor: PageActor, db: DbSession) -> Response:
    """One consent: its terms, its status and every ledger entry about it."""
    try:
        consent, entries = consent_history(db, actor, consent_id)
    except ConsentError as error:
        return problem_response(
            request, error.http_status, detail=_message(request, error), translate_detail=False
        )
    names = profile_names(db, [consent.uscc])
    return render(
        request,
        "consent/consent.html",
        {
            "actor": actor,
            "row": _row(consent),
            "name": names.get(consent.uscc, consent.uscc),
            "entries": entries,
            "status_labels": STATUS_LABELS,
            "section_labels": SECTION_LABELS,
            "event_labels": EVENT_LABELS,
            "may_revoke": _may_grant(actor),
        },
    )


@router.post("/consents/{consent_id}/revoke", response_class=Response)
def revoke_consent(request: Request, consent_id: int, actor: PageActor, db: DbSession) -> Response:
    try:
        revoke(db, actor, consent_id)
    except ConsentError as error:
        return _page(
            request, db, actor, error=_message(request, error), status_code=error.http_status
        )
    return RedirectResponse("/consents", status_code=303)
