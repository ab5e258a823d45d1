"""The consent ledger: every grant and revoke is a chained entry written with the projection
and the audit row; sections are checked; verification finds an edited projection, a deleted
entry and an edited audit row; PostgreSQL refuses to change the ledger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor
from puhui.accounts.models import AuditEntry
from puhui.accounts.service import audit_entries, utcnow
from puhui.audit import verify_chains
from puhui.consent.ledger import check_projection
from puhui.consent.models import Consent, ConsentLedgerEntry
from puhui.consent.service import (
    ConsentError,
    ConsentNotFoundError,
    consent_history,
    grant,
    parse_sections,
    revoke,
)
from puhui.features.profile import PROFILE_SECTIONS
from tests.consent.factories import BUSINESS, OTHER_BUSINESS, make_consent, make_parties


@pytest.fixture
def parties(session: Session) -> dict[str, Actor]:
    return make_parties(session)


def ledger(session: Session, consent_id: int) -> list[ConsentLedgerEntry]:
    return list(
        session.scalars(
            select(ConsentLedgerEntry)
            .where(ConsentLedgerEntry.consent_id == consent_id)
            .order_by(ConsentLedgerEntry.seq)
        )
    )


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def test_grant_and_revoke_are_ledger_entries(session: Session, parties: dict[str, Actor]) -> None:
    consent = grant(
        session, parties["business"], "BANKA", 30, note="贷款申请",
        sections=["risk", "registration"], application="PH20261125001",
    )  # fmt: skip
    assert consent.sections == "registration,risk"  # the order of PROFILE_SECTIONS
    revoke(session, parties["business"], consent.id, note="不再需要")
    granted, revoked = ledger(session, consent.id)
    assert (granted.event, revoked.event) == ("grant", "revoke")
    assert revoked.seq == granted.seq + 1
    assert revoked.prev_hash == granted.entry_hash
    assert granted.at == consent.granted_at
    assert revoked.at == consent.revoked_at
    assert (granted.uscc, granted.bank_code, granted.sections) == (
        BUSINESS, "BANKA", "registration,risk"
    )  # fmt: skip
    assert granted.expires_at == revoked.expires_at == consent.expires_at
    assert granted.user_id == parties["business"].user_id
    assert (granted.actor_kind, granted.actor_role) == ("user", "enterprise")
    assert (granted.application, granted.note, revoked.note) == (
        "PH20261125001", "贷款申请", "不再需要"
    )  # fmt: skip
    actions = {e.action: e.detail for e in audit_entries(session, "consent", str(consent.id))}
    assert actions["consent.grant"]["ledger_seq"] == granted.seq
    assert actions["consent.grant"]["sections"] == ["registration", "risk"]
    assert actions["consent.revoke"]["ledger_seq"] == revoked.seq
    report = verify_chains(session)
    assert report.ok, report.breaks
    assert report.projection.consents >= 1


def test_a_refused_grant_writes_no_entry(session: Session, parties: dict[str, Actor]) -> None:
    count = select(func.count()).select_from(ConsentLedgerEntry)
    before = session.scalar(count)
    with pytest.raises(ConsentError):
        grant(session, parties["officer"], "BANKA", 30, uscc=BUSINESS)
    with pytest.raises(ConsentError):
        grant(session, parties["business"], "BANKA", 30, sections=["everything"])
    assert session.scalar(count) == before


def test_sections_default_to_all_and_are_checked() -> None:
    assert parse_sections(None) == PROFILE_SECTIONS
    assert parse_sections(" Risk ,registration,risk") == ("registration", "risk")
    assert parse_sections(["tags", "TAGS"]) == ("tags",)
    with pytest.raises(ConsentError) as unknown:
        parse_sections(["registration", "bank_statements"])
    assert "sections" in unknown.value.message_en
    assert "bank_statements" in unknown.value.message_en
    assert "registration, relations" in unknown.value.message_en  # the valid ones are named
    assert "画像板块" in unknown.value.message_zh
    with pytest.raises(ConsentError) as empty:
        parse_sections([])
    assert "at least one" in empty.value.message_en
    with pytest.raises(ConsentError):
        parse_sections(" , ")


def test_grant_keeps_its_keyword_signature(session: Session, parties: dict[str, Actor]) -> None:
    """The applications domain calls grant(session, actor, bank, days, uscc=…, note=…)."""
    consent = grant(
        session, parties["operator"], "BANKB", 90, uscc=OTHER_BUSINESS, note="application X"
    )
    assert consent.section_list == PROFILE_SECTIONS
    narrow = grant(
        session, parties["operator"], "BANKB", 90, uscc=OTHER_BUSINESS, sections=("assets",)
    )
    assert narrow.section_list == ("assets",)


def test_an_edited_projection_is_found(session: Session, parties: dict[str, Actor]) -> None:
    kept = make_consent(session, BUSINESS, "BANKA")
    edited = make_consent(session, OTHER_BUSINESS, "BANKA")
    assert check_projection(session).ok
    later = edited.expires_at + timedelta(days=300)
    session.execute(update(Consent).where(Consent.id == edited.id).values(expires_at=later))
    report = verify_chains(session)
    assert report.audit.ok  # the chains are intact ...
    assert report.consent.ok
    broken = report.projection.broken  # ... but the projection is not what they say
    assert broken is not None
    assert (broken.problem, broken.row_id) == ("projection", edited.id)
    assert "expires_at" in broken.message_en
    assert f"consent {edited.id}" in broken.message_en
    assert kept.id != edited.id


def test_a_revoke_undone_in_the_projection_is_found(
    session: Session, parties: dict[str, Actor]
) -> None:
    consent = make_consent(session, BUSINESS, "BANKA", revoked=True)
    session.execute(update(Consent).where(Consent.id == consent.id).values(revoked_at=None))
    broken = check_projection(session).broken
    assert broken is not None
    assert broken.row_id == consent.id
    assert "revoked_at" in broken.message_en


def test_a_consent_slipped_into_the_projection_is_found(
    session: Session, parties: dict[str, Actor]
) -> None:
    """A consents row written without the service (no ledger entry) opens nothing unseen."""
    make_consent(session, BUSINESS, "BANKA")
    now = utcnow()
    forged = Consent(
        uscc=BUSINESS, bank_code="BANKB", scope="profile", sections="registration",
        granted_at=now, expires_at=now + timedelta(days=30), note="",
    )  # fmt: skip
    session.add(forged)
    session.flush()
    broken = check_projection(session).broken
    assert broken is not None
    assert broken.row_id == forged.id
    assert "no grant entry" in broken.message_en


def _allow_ledger_changes(session: Session) -> None:
    """What an attacker with the database's superuser would do: switch the triggers off
    (for this transaction only; the test rolls back)."""
    if is_postgres(session):
        session.execute(text("SET LOCAL session_replication_role = replica"))


def test_a_deleted_ledger_entry_is_found(session: Session, parties: dict[str, Actor]) -> None:
    first = make_consent(session, BUSINESS, "BANKA")
    second = make_consent(session, OTHER_BUSINESS, "BANKA")
    make_consent(session, BUSINESS, "BANKB")
    [gone] = ledger(session, second.id)
    _allow_ledger_changes(session)
    session.execute(delete(ConsentLedgerEntry).where(ConsentLedgerEntry.seq == gone.seq))
    report = verify_chains(session)
    broken = report.consent.broken
    assert broken is not None
    assert (broken.chain, broken.problem, broken.seq) == ("consent", "missing", gone.seq)
    assert f"seq {gone.seq} is missing" in broken.message_en
    # The projection check sees the consent without its grant too.
    assert report.projection.broken is not None
    assert report.projection.broken.row_id == second.id
    assert report.audit.ok
    assert first.id < second.id


def test_an_edited_ledger_entry_is_found(session: Session, parties: dict[str, Actor]) -> None:
    consent = make_consent(session, BUSINESS, "BANKA")
    [entry] = ledger(session, consent.id)
    _allow_ledger_changes(session)
    session.execute(
        update(ConsentLedgerEntry)
        .where(ConsentLedgerEntry.seq == entry.seq)
        .values(bank_code="BANKB")
    )
    broken = verify_chains(session).consent.broken
    assert broken is not None
    assert (broken.problem, broken.seq, broken.row_id) == ("entry_hash", entry.seq, consent.id)


def test_an_edited_audit_row_is_found(session: Session, parties: dict[str, Actor]) -> None:
    consent = make_consent(session, BUSINESS, "BANKA")
    [row] = audit_entries(session, "consent", str(consent.id))
    session.execute(update(AuditEntry).where(AuditEntry.id == row.id).values(detail={"days": 365}))
    report = verify_chains(session)
    assert report.consent.ok
    assert report.projection.ok
    assert report.audit.broken is not None
    assert (report.audit.broken.seq, report.audit.broken.row_id) == (row.seq, row.id)
    lines = report.lines()
    assert [ok for ok, _ in lines] == [False, True, True]
    assert f"id {row.id}" in lines[0][1]
    assert "审计日志已损坏" in lines[0][1]


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE consent_ledger SET bank_code = 'BANKB'",
        "DELETE FROM consent_ledger",
        "TRUNCATE consent_ledger",
    ],
)
def test_postgres_refuses_to_change_the_ledger(
    session: Session, parties: dict[str, Actor], statement: str
) -> None:
    if not is_postgres(session):
        pytest.skip("on SQLite the ledger is append-only by verification only")
    make_consent(session, BUSINESS, "BANKA")
    with pytest.raises(DBAPIError) as raised, session.begin_nested():
        session.execute(text(statement))
    assert "append-only" in str(raised.value)
    assert verify_chains(session).ok


def test_the_history_of_a_consent(session: Session, parties: dict[str, Actor]) -> None:
    consent = make_consent(session, BUSINESS, "BANKA", revoked=True)
    found, entries = consent_history(session, parties["officer"], consent.id)
    assert found.id == consent.id
    assert [e.event for e in entries] == ["grant", "revoke"]
    with pytest.raises(ConsentNotFoundError):
        consent_history(session, parties["other_bank"], consent.id)


def test_an_expired_factory_consent_agrees_with_the_ledger(
    session: Session, parties: dict[str, Actor]
) -> None:
    consent = make_consent(session, BUSINESS, "BANKA", expired=True)
    [entry] = ledger(session, consent.id)
    assert entry.at == consent.granted_at
    assert check_projection(session).ok


def test_columns_left_to_their_defaults_hash_as_inserted(
    session: Session, parties: dict[str, Actor]
) -> None:
    from puhui.accounts.chain import append
    from puhui.consent.ledger import LEDGER

    consent = make_consent(session, BUSINESS, "BANKA")
    # note, user_id and application are left unset: their defaults are what is hashed.
    entry = ConsentLedgerEntry(
        at=consent.granted_at, event="revoke", consent_id=consent.id, uscc=consent.uscc,
        bank_code="BANKA", scope="profile", sections=consent.sections,
        expires_at=consent.expires_at, actor_kind="system", actor_id="test",
        actor_role="operator",
    )  # fmt: skip
    append(session, LEDGER, entry)
    session.expire_all()
    assert verify_chains(session).consent.ok
