"""Consent rules: who may grant and revoke, expiry, revocation, and who sees which consents
(the wrong party gets nothing), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor
from puhui.accounts.service import audit_entries, utcnow
from puhui.consent.service import (
    ConsentConflictError,
    ConsentError,
    ConsentForbiddenError,
    ConsentNotFoundError,
    grant,
    has_consent,
    list_for,
    revoke,
    status_of,
)
from tests.consent.factories import BUSINESS, OTHER_BUSINESS, make_consent, make_parties


@pytest.fixture
def parties(session: Session) -> dict[str, Actor]:
    return make_parties(session)


def test_a_business_grants_its_own_consent_and_it_is_audited(
    session: Session, parties: dict[str, Actor]
) -> None:
    consent = grant(session, parties["business"], "BANKA", 30, note="贷款申请")
    assert consent.uscc == BUSINESS
    assert consent.granted_by == parties["business"].user_id
    assert consent.expires_at - consent.granted_at == timedelta(days=30)
    assert status_of(consent) == "live"
    assert has_consent(session, "BANKA", BUSINESS)
    assert not has_consent(session, "BANKB", BUSINESS)  # another bank: nothing
    assert not has_consent(session, "BANKA", OTHER_BUSINESS)  # another business: nothing
    assert not has_consent(session, "BANKA", BUSINESS, scope="application")
    [entry] = audit_entries(session, "consent", str(consent.id))
    assert entry.action == "consent.grant"
    assert entry.actor_id == parties["business"].id
    assert entry.detail["bank"] == "BANKA"
    assert entry.detail["days"] == 30


def test_a_business_cannot_grant_for_another(session: Session, parties: dict[str, Actor]) -> None:
    with pytest.raises(ConsentForbiddenError):
        grant(session, parties["business"], "BANKA", 30, uscc=OTHER_BUSINESS)
    # Naming its own uscc is fine.
    assert grant(session, parties["business"], "BANKA", 30, uscc=BUSINESS).uscc == BUSINESS


@pytest.mark.parametrize(
    "who", ["officer", "admin", "manager", "system", "other_bank", "government"]
)
def test_no_one_else_grants(session: Session, parties: dict[str, Actor], who: str) -> None:
    with pytest.raises(ConsentForbiddenError) as raised:
        grant(session, parties[who], "BANKA", 30, uscc=BUSINESS)
    assert raised.value.http_status == 403
    assert not has_consent(session, "BANKA", BUSINESS)
    assert audit_entries(session, "consent") == []


def test_an_operator_grants_for_a_named_business(
    session: Session, parties: dict[str, Actor]
) -> None:
    consent = grant(session, parties["operator"], "BANKB", 7, uscc=OTHER_BUSINESS.lower())
    assert consent.uscc == OTHER_BUSINESS
    assert consent.granted_by == parties["operator"].user_id
    with pytest.raises(ConsentError):  # it must say for whom
        grant(session, parties["operator"], "BANKB", 7)


@pytest.mark.parametrize(
    ("bank", "days", "scope", "uscc"),
    [
        ("NOBANK", 30, "profile", BUSINESS),
        ("BANKA", 0, "profile", BUSINESS),
        ("BANKA", 366, "profile", BUSINESS),
        ("BANKA", 30, "everything", BUSINESS),
        ("BANKA", 30, "profile", "91110000600037341X"),  # wrong check character
    ],
)
def test_invalid_grants_are_refused(
    session: Session, parties: dict[str, Actor], bank: str, days: int, scope: str, uscc: str
) -> None:
    with pytest.raises(ConsentError):
        grant(session, parties["operator"], bank, days, scope, uscc=uscc)
    assert audit_entries(session, "consent") == []


def test_days_bounds_are_inclusive(session: Session, parties: dict[str, Actor]) -> None:
    assert grant(session, parties["business"], "BANKA", 1).expires_at
    assert grant(session, parties["business"], "BANKA", 365).expires_at


def test_expiry(session: Session, parties: dict[str, Actor]) -> None:
    consent = grant(session, parties["business"], "BANKA", 10)
    now = utcnow()
    assert has_consent(session, "BANKA", BUSINESS, at=now + timedelta(days=9))
    assert not has_consent(session, "BANKA", BUSINESS, at=now + timedelta(days=11))
    assert not has_consent(session, "BANKA", BUSINESS, at=consent.granted_at - timedelta(1))
    expired = make_consent(session, OTHER_BUSINESS, expired=True)
    assert status_of(expired) == "expired"
    assert not has_consent(session, "BANKA", OTHER_BUSINESS)


def test_the_business_revokes_and_it_is_audited(
    session: Session, parties: dict[str, Actor]
) -> None:
    consent = grant(session, parties["business"], "BANKA", 30)
    revoked = revoke(session, parties["business"], consent.id)
    assert revoked.revoked_at is not None
    assert status_of(revoked) == "revoked"
    assert not has_consent(session, "BANKA", BUSINESS)
    actions = [e.action for e in audit_entries(session, "consent", str(consent.id))]
    assert actions == ["consent.grant", "consent.revoke"]
    with pytest.raises(ConsentConflictError):
        revoke(session, parties["business"], consent.id)


def test_an_operator_revokes(session: Session, parties: dict[str, Actor]) -> None:
    consent = make_consent(session, BUSINESS)
    revoke(session, parties["operator"], consent.id)
    assert not has_consent(session, "BANKA", BUSINESS)


def test_the_bank_holding_it_may_not_revoke(session: Session, parties: dict[str, Actor]) -> None:
    consent = make_consent(session, BUSINESS)
    for who in ("officer", "admin", "manager", "system"):
        with pytest.raises(ConsentForbiddenError):
            revoke(session, parties[who], consent.id)
    assert has_consent(session, "BANKA", BUSINESS)


@pytest.mark.parametrize("who", ["other_business", "other_bank", "government"])
def test_anyone_else_finds_nothing_to_revoke(
    session: Session, parties: dict[str, Actor], who: str
) -> None:
    consent = make_consent(session, BUSINESS)
    with pytest.raises(ConsentNotFoundError):
        revoke(session, parties[who], consent.id)
    with pytest.raises(ConsentNotFoundError):
        revoke(session, parties["operator"], consent.id + 1000)
    assert has_consent(session, "BANKA", BUSINESS)
    assert [e.action for e in audit_entries(session, "consent")] == ["consent.grant"]


def test_lists_are_narrowed_for_each_actor(session: Session, parties: dict[str, Actor]) -> None:
    a_mine = make_consent(session, BUSINESS, "BANKA")
    b_mine = make_consent(session, BUSINESS, "BANKB")
    a_other = make_consent(session, OTHER_BUSINESS, "BANKA")
    old = make_consent(session, OTHER_BUSINESS, "BANKB", revoked=True)

    def seen(who: str, live_only: bool = False) -> set[int]:
        return {c.id for c in list_for(session, parties[who], live_only=live_only).items}

    assert seen("operator") == seen("platform") == {a_mine.id, b_mine.id, a_other.id, old.id}
    assert seen("business") == {a_mine.id, b_mine.id}
    assert seen("other_business") == {a_other.id, old.id}
    assert seen("other_business", live_only=True) == {a_other.id}
    for who in ("officer", "admin", "manager", "system"):
        assert seen(who) == {a_mine.id, a_other.id}, who
    assert seen("other_bank") == {b_mine.id, old.id}
    assert seen("government") == set()


def test_lists_are_paged_newest_first(session: Session, parties: dict[str, Actor]) -> None:
    from puhui.pagination import PageRequest

    made = [make_consent(session, BUSINESS, days=d) for d in range(1, 6)]
    first = list_for(session, parties["business"], PageRequest(page=1, size=2))
    assert first.total == 5
    assert [c.id for c in first.items] == [made[4].id, made[3].id]
