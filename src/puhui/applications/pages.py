"""Application pages: apply (with the consent screen), my applications with the stage
tracker, the bank's order pool (抢单) and review page, and the public tracking page.

Thin: parse the form, call the service, shape for the template. No SQL here; who sees
what and who may move what is the service's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from puhui.accounts.actor import ROLES_WITH_BANK, Actor, Role
from puhui.accounts.service import list_banks, utcnow
from puhui.applications import service
from puhui.applications.models import Application, ApplicationEvent
from puhui.applications.scores import latest_score, reason_text
from puhui.applications.service import ApplicationError
from puhui.applications.vocab import APPROVED, STAGES, label
from puhui.consent.pages import SECTION_LABELS
from puhui.decisions.api import runtime_of
from puhui.features.access import attempt_profile_read, profile_names
from puhui.features.pages import REGISTRATION_LABELS, profile_context
from puhui.features.profile import PROFILE_SECTIONS
from puhui.market import service as market_service
from puhui.market.vocab import TIERS
from puhui.market.vocab import label as market_label
from puhui.pagination import PageRequest
from puhui.settings import Settings
from puhui.web.deps import DbSession, PageActor, SettingsDep
from puhui.web.i18n import N_, locale_of, translate, translator
from puhui.web.nav import NavLink, register
from puhui.web.pagination import PageNumber
from puhui.web.problems import Problem
from puhui.web.templating import add_template_dir, render

router = APIRouter(include_in_schema=False)


def section_label(code: str, locale: str) -> str:
    """A profile section's name, as the consent pages show it (one label table)."""
    names = SECTION_LABELS.get(code)
    return translate(locale, names[0]) if names else code


add_template_dir(Path(__file__).parent / "templates")

PAGE_SIZE = 20
ApplicationId = Annotated[int, PathParam(ge=1, le=service.MAX_ID)]
BANK_SIDE = frozenset({Role.BANK_OFFICER, Role.BANK_ADMIN, Role.CUSTOMER_MANAGER, Role.OPERATOR})

register(
    NavLink(
        "/apply",
        N_("Apply for a loan"),
        roles=frozenset({Role.ENTERPRISE}),
        description=N_("Apply to the open pool, where banks compete for your application"),
    )
)
register(
    NavLink(
        "/applications",
        N_("My applications"),
        roles=frozenset({Role.ENTERPRISE}),
        description=N_("Your loan applications and the stage each has reached"),
    )
)
register(
    NavLink(
        "/applications/pool",
        N_("Order pool"),
        roles=BANK_SIDE,
        description=N_("Open applications any bank may claim (抢单)"),
    )
)
register(
    NavLink(
        "/applications",
        N_("Applications"),
        roles=BANK_SIDE,
        description=N_("Your bank's applications: review, decide, disburse"),
    )
)
register(
    NavLink(
        "/track",
        N_("Track an application"),
        description=N_("The stages of an application, by its number"),
    )
)

#: What each stage's button says.
STEP_BUTTONS = {
    "accepted": N_("Accept"),
    "under_review": N_("Start the review"),
    "approved": N_("Approve"),
    "declined": N_("Decline"),
    "contract_signed": N_("Record the signed contract"),
    "disbursed": N_("Record the disbursement"),
    "withdrawn": N_("Withdraw the application"),
}
STATE_LABELS = {
    "done": N_("done"),
    "current": N_("now"),
    "pending": N_("to come"),
    "skipped": N_("not reached"),
}


def yuan(value: Decimal | float | None) -> str:
    return "—" if value is None else f"{Decimal(value):,.2f}"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "—"


def _message(request: Request, error: ApplicationError) -> str:
    return error.message_zh if locale_of(request) == "zh_CN" else error.message_en


def _stage_rows(
    application: Application, events: list[ApplicationEvent], locale: str
) -> list[dict[str, Any]]:
    rows = []
    for stage in service.tracker(application, events):
        rows.append(
            {
                "stage": stage.stage,
                "label": label(STAGES, stage.stage, locale),
                "state": stage.state,
                "at": when(stage.reached_at),
                "due": when(stage.due_at),
                "sla": stage.sla_hours,
                "breached": stage.breached,
            }
        )
    return rows


def _view(
    application: Application,
    events: list[ApplicationEvent],
    actor: Actor,
    locale: str,
    banks: dict[str, str],
) -> dict[str, Any]:
    hidden = service.redacted_for(actor, application)
    ended = next((e for e in events if e.stage in ("withdrawn", "expired")), None)
    return {
        "id": application.id,
        "number": application.number,
        "status": application.status,
        "status_label": label(STAGES, application.status, locale),
        "pool": service.is_pool(application),
        "hidden": hidden,
        "uscc": None if hidden else application.uscc,
        "phone": None if hidden else service.mask_phone(application.contact_phone),
        "bank": banks.get(application.bank_code or "", application.bank_code),
        "product_id": application.product_id,
        "amount": yuan(application.amount),
        "term": application.term_months,
        "purpose": application.purpose,
        "approved_amount": yuan(application.approved_amount)
        if application.approved_amount is not None
        else None,
        "approved_rate": application.approved_rate,
        "submitted": when(application.submitted_at),
        "due": when(application.stage_due_at) if application.stage_due_at else None,
        "sections": [section_label(s, locale) for s in application.consent_sections],
        "consent_days": application.consent_days,
        "stages": _stage_rows(application, events, locale),
        "ended": (
            {"label": label(STAGES, ended.stage, locale), "at": when(ended.at)} if ended else None
        ),
    }


def _bank_names(db: Session) -> dict[str, str]:
    return {bank.code: bank.name for bank in list_banks(db)}


# --------------------------------------------------------------------------- apply


def _apply_form(
    request: Request,
    db: Session,
    actor: Actor,
    product_id: int | None,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    product = None
    if product_id is not None:
        product = market_service.get_product(db, actor, product_id)
    banks = _bank_names(db)
    return render(
        request,
        "applications/apply.html",
        {
            "actor": actor,
            "product": product,
            "bank": banks.get(product.bank_code, product.bank_code) if product else None,
            "values": values or {},
            "error": error,
            "may_apply": actor.role is Role.ENTERPRISE and bool(actor.uscc),
        },
        status_code=status_code,
    )


def _product_id(value: str | int | None) -> int | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not text.isdigit() or len(text) > 12:
        raise Problem(404)
    return int(text)


@router.get("/apply", response_class=Response)
def apply_page(
    request: Request, actor: PageActor, db: DbSession, product: str | None = None
) -> Response:
    """The application form: for a product (``?product=``), or to the open pool."""
    return _apply_form(request, db, actor, _product_id(product))


@router.post("/apply", response_class=Response)
def consent_screen(
    request: Request,
    actor: PageActor,
    db: DbSession,
    amount: Annotated[str, Form(max_length=40)] = "",
    term_months: Annotated[str, Form(max_length=10)] = "",
    purpose: Annotated[str, Form(max_length=2000)] = "",
    contact_phone: Annotated[str, Form(max_length=40)] = "",
    product_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Step two: the form checked (nothing written yet), the consent screen names the bank,
    the profile sections it may read and the expiry."""
    chosen = _product_id(product_id)
    values = {
        "amount": amount,
        "term_months": term_months,
        "purpose": purpose,
        "contact_phone": contact_phone,
    }
    try:
        checked = service.check_request(
            db, actor, chosen, amount, term_months, purpose, contact_phone
        )
    except ApplicationError as error:
        return _apply_form(
            request, db, actor, chosen, values, _message(request, error), error.http_status
        )
    return _consent(request, db, actor, checked)


def _consent(
    request: Request,
    db: Session,
    actor: Actor,
    checked: service.ApplicationRequest,
    chosen: tuple[str, ...] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    locale = locale_of(request)
    banks = _bank_names(db)
    return render(
        request,
        "applications/consent.html",
        {
            "actor": actor,
            "checked": checked,
            "amount": yuan(checked.amount),
            "bank": banks.get(checked.bank_code, checked.bank_code) if checked.bank_code else None,
            "sections": [(code, section_label(code, locale)) for code in PROFILE_SECTIONS],
            "chosen": set(chosen if chosen is not None else PROFILE_SECTIONS),
            "expires": (utcnow() + timedelta(days=checked.consent_days)).strftime("%Y-%m-%d"),
            "error": error,
        },
        status_code=status_code,
    )


@router.post("/apply/confirm", response_class=Response)
def confirm(
    request: Request,
    actor: PageActor,
    db: DbSession,
    amount: Annotated[str, Form(max_length=40)] = "",
    term_months: Annotated[str, Form(max_length=10)] = "",
    purpose: Annotated[str, Form(max_length=2000)] = "",
    contact_phone: Annotated[str, Form(max_length=40)] = "",
    product_id: Annotated[str, Form(max_length=12)] = "",
    sections: Annotated[list[str] | None, Form()] = None,
    agree: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Step three: with the applicant's authorisation, the application is submitted."""
    chosen = _product_id(product_id)
    picked = tuple(sections or ())
    values = {
        "amount": amount,
        "term_months": term_months,
        "purpose": purpose,
        "contact_phone": contact_phone,
    }
    try:
        checked = service.check_request(
            db,
            actor,
            chosen,
            amount,
            term_months,
            purpose,
            contact_phone,
            sections=picked or None,
        )
        if not picked or agree != "yes":
            _ = translator(request)
            message = _("Tick the sections the bank may read and confirm that you authorise it.")
            return _consent(request, db, actor, checked, picked, message, 400)
        application = service.submit(
            db,
            actor,
            chosen,
            amount,
            term_months,
            purpose,
            contact_phone,
            sections=picked,
            runtime=runtime_of(request),
        )
    except ApplicationError as error:
        return _apply_form(
            request, db, actor, chosen, values, _message(request, error), error.http_status
        )
    return RedirectResponse(f"/applications/{application.id}?new=1", status_code=303)


# --------------------------------------------------------------------------- lists


@router.get("/applications", response_class=Response)
def applications_page(
    request: Request,
    actor: PageActor,
    db: DbSession,
    status: str | None = None,
    page: PageNumber = 1,
) -> Response:
    """A business's own applications with their trackers; a bank's applications."""
    locale = locale_of(request)
    wanted = status if status in STAGES else None
    result = service.list_applications(
        db,
        actor,
        PageRequest(page, PAGE_SIZE),
        status=wanted,
        pool=False if actor.role in ROLES_WITH_BANK else None,  # the pool has its page
    )
    banks = _bank_names(db)
    events = service.events_for(db, [a.id for a in result.items])
    referred = _refer_queue(db, actor, locale)
    usccs = [a.uscc for a in result.items] + [r["uscc"] for r in referred]
    names = profile_names(db, usccs) if actor.role in BANK_SIDE else {}
    return render(
        request,
        "applications/list.html",
        {
            "actor": actor,
            "referred": referred,
            "rows": [_view(a, events[a.id], actor, locale, banks) for a in result.items],
            "names": names,
            "total": result.total,
            "status": wanted or "",
            "statuses": [(code, label(STAGES, code, locale)) for code in STAGES],
            "page": page,
            "has_next": page * PAGE_SIZE < result.total,
            "state_labels": STATE_LABELS,
        },
    )


def _refer_queue(db: Session, actor: Actor, locale: str) -> list[dict[str, Any]]:
    """The bank's refer queue (the engine referred them to a person), with the reasons."""
    if not (actor.role in BANK_SIDE and actor.bank_code):
        return []
    queue = service.list_applications(db, actor, PageRequest(1, PAGE_SIZE), referred=True)
    decided = service.decisions_for(db, queue.items)
    key = "zh" if locale == "zh_CN" else "en"
    rows = []
    for application in queue.items:
        decision = decided.get(application.id)
        reasons = (decision.result.get("reasons") or []) if decision is not None else []
        rows.append(
            {
                "id": application.id,
                "number": application.number,
                "uscc": application.uscc,
                "amount": yuan(application.amount),
                "term": application.term_months,
                "decision": decision.public_id if decision is not None else "",
                "reasons": [str(r.get(key, r.get("code", ""))) for r in reasons],
            }
        )
    return rows


def _pool_page(
    request: Request,
    db: Session,
    actor: Actor,
    page: int = 1,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    if actor.role not in BANK_SIDE:
        raise Problem(403)
    locale = locale_of(request)
    result = service.list_applications(db, actor, PageRequest(page, PAGE_SIZE), pool=True)
    banks = _bank_names(db)
    return render(
        request,
        "applications/pool.html",
        {
            "actor": actor,
            "rows": [_view(a, [], actor, locale, banks) for a in result.items],
            "total": result.total,
            "may_claim": actor.is_bank and bool(actor.bank_code),
            "page": page,
            "has_next": page * PAGE_SIZE < result.total,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/applications/pool", response_class=Response)
def pool_page(request: Request, actor: PageActor, db: DbSession, page: PageNumber = 1) -> Response:
    """The open pool: applications without a bank, oldest deadline first on the page."""
    return _pool_page(request, db, actor, page)


@router.post("/applications/{application_id}/claim", response_class=Response)
def claim(
    request: Request, application_id: ApplicationId, actor: PageActor, db: DbSession
) -> Response:
    try:
        service.claim(db, actor, application_id)
    except ApplicationError as error:
        if error.http_status == 404:
            raise
        return _pool_page(
            request, db, actor, error=_message(request, error), status_code=error.http_status
        )
    return RedirectResponse(f"/applications/{application_id}", status_code=303)


# --------------------------------------------------------------------------- one application


def _detail(
    request: Request,
    db: Session,
    actor: Actor,
    settings: Any,
    application_id: int,
    error: str | None = None,
    status_code: int = 200,
    new: bool = False,
) -> Response:
    locale = locale_of(request)
    application = service.get_application(db, actor, application_id)
    events = service.events_of(db, application.id)
    banks = _bank_names(db)
    steps = service.next_steps(actor, application)
    review = None
    if (
        actor.role in ROLES_WITH_BANK
        and actor.bank_code is not None
        and actor.bank_code == application.bank_code
    ):
        review = _review(request, db, actor, settings, application)
    decision = None
    if review is not None and application.decision_id is not None:
        found = service.decisions_for(db, [application]).get(application.id)
        if found is not None:
            key = "zh" if locale == "zh_CN" else "en"
            decision = {
                "id": found.public_id,
                "outcome": str(found.result.get(f"outcome_{key}", found.outcome)),
                "reasons": [
                    str(r.get(key, r.get("code", ""))) for r in found.result.get("reasons") or []
                ],
                "referred": service.is_referred(db, application),
                "may_override": service.overridable(db, actor, application),
            }
    product = None
    if application.product_id is not None:
        try:
            product = market_service.get_product(db, actor, application.product_id)
        except market_service.ProductNotFoundError:
            product = None
    return render(
        request,
        "applications/detail.html",
        {
            "actor": actor,
            "app": _view(application, events, actor, locale, banks),
            "product": product,
            "events": [
                {
                    "label": label(STAGES, e.stage, locale),
                    "at": when(e.at),
                    "role": e.actor_role,
                    "bank": banks.get(e.actor_bank or "", e.actor_bank or ""),
                    "note": e.note,
                    "due": when(e.due_at) if e.due_at else "—",
                    "breached": e.breached,
                }
                for e in events
            ],
            "steps": [(to, STEP_BUTTONS.get(to, to)) for to in steps if to != "accepted"]
            if not service.is_pool(application)
            else [],
            "may_accept": "accepted" in steps and not service.is_pool(application),
            "may_claim": "accepted" in steps and service.is_pool(application),
            "approve": APPROVED in steps,
            "review": review,
            "decision": decision,
            "error": error,
            "new": new,
            "state_labels": STATE_LABELS,
        },
        status_code=status_code,
    )


def _review(
    request: Request, db: Session, actor: Actor, settings: Any, application: Application
) -> dict[str, Any]:
    """The owning bank's view: the profile (an audited read, with the consent) limited to
    the sections the applicant authorised, and the latest score with its reasons."""
    locale = locale_of(request)
    read = attempt_profile_read(db, actor, application.uscc)
    profile: dict[str, Any] | None = None
    if read.profile is not None:
        context = profile_context(read.profile, locale, translator(request))
        document = read.profile.document
        sections = set(application.consent_sections)
        profile = {
            "name": read.profile.name,
            "as_of": read.profile.as_of.isoformat(),
            "registration": context["registration"] if "registration" in sections else [],
            "chart": context["charts"]["money"] if "operations" in sections else None,
            "risk": document.get("risk", {}) if "risk" in sections else None,
            "tags": document.get("tags", {}) if "tags" in sections else None,
        }
    score = latest_score(settings, application.uscc, actor.bank_code)
    return {
        "outcome": read.outcome,
        "error": _message_of(request, read.error) if read.error else None,
        "profile": profile,
        "score": score,
        "tier": market_label(TIERS, score.tier, locale) if score else None,
        "reasons": [reason_text(r, locale) for r in score.reasons] if score else [],
        "registration_labels": REGISTRATION_LABELS,
    }


def _message_of(request: Request, error: Any) -> str:
    return str(error.message_zh if locale_of(request) == "zh_CN" else error.message_en)


@router.get("/applications/{application_id}", response_class=Response)
def application_page(
    request: Request,
    application_id: ApplicationId,
    actor: PageActor,
    db: DbSession,
    settings: SettingsDep,
    new: str | None = None,
) -> Response:
    return _detail(request, db, actor, settings, application_id, new=bool(new))


@router.post("/applications/{application_id}/transition", response_class=Response)
def move(
    request: Request,
    application_id: ApplicationId,
    actor: PageActor,
    db: DbSession,
    settings: SettingsDep,
    to: Annotated[str, Form(max_length=32)],
    note: Annotated[str, Form(max_length=2000)] = "",
    approved_amount: Annotated[str, Form(max_length=40)] = "",
    approved_rate: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    return _act(
        request,
        db,
        actor,
        settings,
        application_id,
        lambda: service.transition(
            db,
            actor,
            application_id,
            to,
            note,
            approved_amount=approved_amount.strip() or None,
            approved_rate=approved_rate.strip() or None,
        ),
    )


@router.post("/applications/{application_id}/override", response_class=Response)
def override(
    request: Request,
    application_id: ApplicationId,
    actor: PageActor,
    db: DbSession,
    settings: SettingsDep,
    outcome: Annotated[str, Form(max_length=16)],
    reason: Annotated[str, Form(max_length=10_000)] = "",
    approved_amount: Annotated[str, Form(max_length=40)] = "",
    approved_rate: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """An officer overrides the automatic decision with a written reason."""
    return _act(
        request,
        db,
        actor,
        settings,
        application_id,
        lambda: service.override(
            db,
            actor,
            application_id,
            outcome,
            reason,
            approved_amount=approved_amount.strip() or None,
            approved_rate=approved_rate.strip() or None,
        ),
    )


def _act(
    request: Request,
    db: Session,
    actor: Actor,
    settings: Settings,
    application_id: int,
    step: Callable[[], object],
) -> Response:
    """Run one step on the application and show it again; a refusal is shown on the page
    (a 404 stays a 404)."""
    try:
        step()
    except ApplicationError as error:
        if error.http_status == 404:
            raise
        return _detail(
            request,
            db,
            actor,
            settings,
            application_id,
            _message(request, error),
            error.http_status,
        )
    return RedirectResponse(f"/applications/{application_id}", status_code=303)


# --------------------------------------------------------------------------- tracking


@router.get("/track", response_class=Response)
def track_lookup(request: Request, number: str | None = None) -> Response:
    """Anyone: look an application up by its number."""
    wanted = (number or "").strip().upper()
    if wanted:
        return RedirectResponse(f"/track/{quote(wanted[:40], safe='')}", status_code=303)
    return render(request, "applications/track.html", {"view": None, "number": ""})


@router.get("/track/{number}", response_class=Response)
def track_page(request: Request, number: str, db: DbSession) -> Response:
    """Anyone holding the number: the six stages with times and SLAs, the bank and the
    product; nothing that names the business."""
    locale = locale_of(request)
    try:
        view = service.track(db, number)
    except ApplicationError as error:
        return render(
            request,
            "applications/track.html",
            {"view": None, "number": number[:40], "error": _message(request, error)},
            status_code=error.http_status,
        )
    return render(
        request,
        "applications/track.html",
        {
            "view": view,
            "number": view.number,
            "status_label": label(STAGES, view.status, locale),
            "stages": [
                {
                    "stage": s.stage,
                    "label": label(STAGES, s.stage, locale),
                    "state": s.state,
                    "at": when(s.reached_at),
                    "due": when(s.due_at),
                    "sla": s.sla_hours,
                    "breached": s.breached,
                }
                for s in view.stages
            ],
            "ended": (
                {
                    "label": label(STAGES, view.ended.stage, locale),
                    "at": when(view.ended.reached_at),
                }
                if view.ended
                else None
            ),
            "due": when(view.stage_due_at) if view.stage_due_at else None,
            "state_labels": STATE_LABELS,
        },
    )
