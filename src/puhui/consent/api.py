"""Consent API under ``/api/v1``: grant, list, read with its ledger entries, revoke. Thin:
parse, call the service."""

from __future__ import annotations

from fastapi import APIRouter

from puhui.consent.schemas import ConsentDetailOut, ConsentIn, ConsentOut, LedgerEntryOut
from puhui.consent.service import consent_history, grant, list_for, revoke
from puhui.web.deps import CurrentActor, DbSession, RowId
from puhui.web.pagination import Page, PageQuery
from puhui.web.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["consents"], responses=PROBLEM_RESPONSES)


@router.post(
    "/consents",
    response_model=ConsentOut,
    status_code=201,
    summary="Authorise a bank to read the business's profile (the business or an operator)",
)
def create_consent(body: ConsentIn, actor: CurrentActor, db: DbSession) -> ConsentOut:
    consent = grant(
        db,
        actor,
        body.bank_code,
        body.days,
        body.scope,
        uscc=body.uscc,
        note=body.note,
        sections=body.sections,
        application=body.application,
    )
    return ConsentOut.of(consent)


@router.get(
    "/consents",
    response_model=Page[ConsentOut],
    summary="Consents the caller may see (business: own; bank: its bank's; operator: all)",
)
def consents(
    actor: CurrentActor, db: DbSession, page: PageQuery, live: bool = False
) -> Page[ConsentOut]:
    """Newest first. ``live=true`` leaves out expired and revoked consents."""
    return Page[ConsentOut].of(list_for(db, actor, page, live_only=live), ConsentOut.of)


@router.get(
    "/consents/{consent_id}",
    response_model=ConsentDetailOut,
    summary="One consent with its ledger entries (whoever may see the consent)",
)
def consent(consent_id: RowId, actor: CurrentActor, db: DbSession) -> ConsentDetailOut:
    """The consent and every grant or revoke entry of the consent ledger about it, with
    their hashes; 404 for a consent the caller may not see."""
    found, entries = consent_history(db, actor, consent_id)
    return ConsentDetailOut(
        **ConsentOut.of(found).model_dump(), ledger=[LedgerEntryOut.of(e) for e in entries]
    )


@router.delete(
    "/consents/{consent_id}",
    response_model=ConsentOut,
    summary="Revoke a consent (the business that granted it, or an operator)",
)
def delete_consent(consent_id: RowId, actor: CurrentActor, db: DbSession) -> ConsentOut:
    return ConsentOut.of(revoke(db, actor, consent_id))
