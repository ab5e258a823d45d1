"""Applications API under ``/api/v1``: apply, list, one application, claim from the pool,
move through the stages, and the public tracking by number.

Thin: parse, call the service, translate. Each route documents exactly the problem
statuses it can answer (RFC 9457 documents via the app's handlers).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from puhui.applications import service
from puhui.applications.schemas import (
    ApplicationDetailOut,
    ApplicationIn,
    ApplicationOut,
    EventOut,
    OverrideIn,
    Stage,
    TrackOut,
    TransitionIn,
)
from puhui.decisions.api import runtime_of
from puhui.web.deps import CurrentActor, DbSession
from puhui.web.i18n import locale_of
from puhui.web.pagination import Page, PageQuery
from puhui.web.problems import problems

router = APIRouter(tags=["applications"])

#: An application's id: a positive 32-bit integer (larger ones cannot exist).
ApplicationId = Annotated[int, Path(ge=1, le=service.MAX_ID, description="the application")]


def detail(
    db: DbSession, application_id: ApplicationId, out: ApplicationOut
) -> ApplicationDetailOut:
    events = [EventOut.of(e) for e in service.events_of(db, application_id)]
    return ApplicationDetailOut(**out.model_dump(), events=events)


@router.get(
    "/applications",
    response_model=Page[ApplicationOut],
    summary="Applications the caller may see (business: own; bank: its bank's and the pool; "
    "operator: all)",
    responses=problems(400, 401, 422),
)
def applications(
    db: DbSession,
    actor: CurrentActor,
    page: PageQuery,
    status: Annotated[Stage | None, Query(description="only this stage")] = None,
    pool: Annotated[
        bool | None, Query(description="true: only the open pool; false: only with a bank")
    ] = None,
    referred: Annotated[
        bool | None,
        Query(description="true: only the refer queue (the engine referred it to a person)"),
    ] = None,
) -> Page[ApplicationOut]:
    """Newest first. A bank sees pool applications without the business's identity."""
    result = service.list_applications(db, actor, page, status=status, pool=pool, referred=referred)
    return Page[ApplicationOut].of(result, lambda a: ApplicationOut.of(a, actor))


@router.post(
    "/applications",
    response_model=ApplicationDetailOut,
    status_code=201,
    summary="Apply for a loan (a business's own user), to a product's bank or the open pool",
    responses=problems(400, 401, 403, 404, 422),
)
def apply(
    request: Request, db: DbSession, actor: CurrentActor, body: ApplicationIn
) -> ApplicationDetailOut:
    """With ``product_id`` the consent to the product's bank is granted at once (for
    ``consent_days``); without it the application goes to the open pool and the consent is
    granted to the bank that claims it. Keep ``number``: it tracks the application. An
    instant product's application is decided at once (approved, declined or referred)."""
    application = service.submit(
        db,
        actor,
        body.product_id,
        body.amount,
        body.term_months,
        body.purpose,
        body.contact_phone,
        consent_days=body.consent_days,
        sections=body.sections,
        runtime=runtime_of(request),
    )
    return detail(db, application.id, ApplicationOut.of(application, actor))


@router.get(
    "/applications/{application_id}",
    response_model=ApplicationDetailOut,
    summary="One application with the stages it reached",
    responses=problems(401, 404, 422),
)
def application(
    db: DbSession, actor: CurrentActor, application_id: ApplicationId
) -> ApplicationDetailOut:
    """404 for an application the caller may not see (another bank's included)."""
    found = service.get_application(db, actor, application_id)
    return detail(db, found.id, ApplicationOut.of(found, actor))


@router.post(
    "/applications/{application_id}/claim",
    response_model=ApplicationDetailOut,
    summary="Claim an open-pool application for the caller's bank (抢单): exactly one bank wins",
    responses=problems(401, 403, 404, 409, 422),
)
def claim(
    db: DbSession, actor: CurrentActor, application_id: ApplicationId
) -> ApplicationDetailOut:
    """One conditional update decides; a bank that comes second gets 409. The winner's
    bank gets the applicant's consent to read the profile."""
    found = service.claim(db, actor, application_id)
    return detail(db, found.id, ApplicationOut.of(found, actor))


@router.post(
    "/applications/{application_id}/transitions",
    response_model=ApplicationDetailOut,
    summary="Move an application to its next stage",
    responses=problems(400, 401, 403, 404, 409, 422),
)
def move(
    db: DbSession, actor: CurrentActor, application_id: ApplicationId, body: TransitionIn
) -> ApplicationDetailOut:
    """The owning bank: accepted, under_review, approved (with ``approved_rate``), declined,
    contract_signed, disbursed; the business: withdrawn, contract_signed. 409 when the
    application's stage does not allow the step (or changed meanwhile)."""
    found = service.transition(
        db,
        actor,
        application_id,
        body.to,
        body.note,
        approved_amount=body.approved_amount,
        approved_rate=body.approved_rate,
    )
    return detail(db, found.id, ApplicationOut.of(found, actor))


@router.post(
    "/applications/{application_id}/override",
    response_model=ApplicationDetailOut,
    summary="An officer overrides the automatic decision, with a written reason (audited)",
    responses=problems(400, 401, 403, 404, 409, 422),
)
def override(
    db: DbSession, actor: CurrentActor, application_id: ApplicationId, body: OverrideIn
) -> ApplicationDetailOut:
    """An officer or admin of the owning bank approves or declines a referred application,
    or reverses an automatic approval or decline before the contract. ``reason`` is
    required (1 to 500 characters); the stored decision is never changed."""
    found = service.override(
        db,
        actor,
        application_id,
        body.outcome,
        body.reason,
        approved_amount=body.approved_amount,
        approved_rate=body.approved_rate,
    )
    return detail(db, found.id, ApplicationOut.of(found, actor))


@router.get(
    "/track/{number}",
    response_model=TrackOut,
    summary="Public tracking of an application by its number (no sign-in)",
    responses=problems(404),
)
def track(request: Request, db: DbSession, number: str) -> TrackOut:
    """The six stages with their times and SLAs, the bank and product names, the status;
    never the business's identity, its phone or the amount."""
    return TrackOut.of(service.track(db, number), locale_of(request))
