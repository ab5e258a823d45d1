"""Who reads a profile: the business, operators and government freely, a bank only with a
live consent for that bank and only the sections it names; a refusal is a 404; every read,
allowed or refused, is in the audit log with the consents and sections used."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor
from puhui.accounts.service import audit_entries, utcnow
from puhui.consent.service import grant, revoke
from puhui.features.access import (
    ProfileAccessDeniedError,
    ProfileNotFoundError,
    attempt_profile_read,
    profile_names,
    read_profile,
)
from puhui.features.profile import PROFILE_SECTIONS
from puhui.identifiers import is_valid_person_id
from tests.consent.factories import BUSINESS, OTHER_BUSINESS, make_consent, make_parties
from tests.features.factories import make_profile

CLEAR_ID = re.compile(r"(?<![0-9A-Z])[0-9]{17}[0-9X](?![0-9A-Z])")


@pytest.fixture
def parties(session: Session) -> dict[str, Actor]:
    found = make_parties(session)
    make_profile(session, BUSINESS, "台州测试贸易有限公司")
    make_profile(session, OTHER_BUSINESS, "椒江区另一家店")
    return found


def reads(session: Session, uscc: str = BUSINESS) -> list[dict[str, object]]:
    return [
        {"actor": e.actor_id, "bank": e.actor_bank, **e.detail}
        for e in audit_entries(session, "profile", uscc)
        if e.action == "profile.read"
    ]


@pytest.mark.parametrize(
    ("who", "basis"),
    [("business", "self"), ("operator", "operator"), ("platform", "operator"),
     ("government", "government")],
)  # fmt: skip
def test_free_readers_read_and_are_audited(
    session: Session, parties: dict[str, Actor], who: str, basis: str
) -> None:
    profile = read_profile(session, parties[who], BUSINESS)
    assert profile.uscc == BUSINESS
    assert profile.document["registration"]["uscc"] == BUSINESS
    assert reads(session) == [{"actor": parties[who].id, "bank": None, "outcome": "allowed",
                               "basis": basis, "sections": list(PROFILE_SECTIONS)}]  # fmt: skip


@pytest.mark.parametrize("who", ["officer", "admin", "manager", "system", "other_bank"])
def test_a_bank_without_consent_is_refused_and_audited(
    session: Session, parties: dict[str, Actor], who: str
) -> None:
    with pytest.raises(ProfileAccessDeniedError) as raised:
        read_profile(session, parties[who], BUSINESS)
    assert raised.value.http_status == 404  # like a missing profile: nothing is revealed
    assert "授权" in raised.value.message_zh
    assert "consent" in raised.value.message_en
    [entry] = reads(session)
    assert entry == {"actor": parties[who].id, "bank": parties[who].bank_code,
                     "outcome": "refused"}  # fmt: skip


@pytest.mark.parametrize("who", ["officer", "admin", "manager", "system"])
def test_a_bank_with_consent_reads_and_is_audited(
    session: Session, parties: dict[str, Actor], who: str
) -> None:
    consent = grant(session, parties["business"], "BANKA", 30)
    profile = read_profile(session, parties[who], BUSINESS)
    assert profile.name == "台州测试贸易有限公司"
    assert reads(session) == [
        {"actor": parties[who].id, "bank": "BANKA", "outcome": "allowed", "basis": "consent",
         "consent_id": consent.id, "consent_ids": [consent.id],
         "sections": list(PROFILE_SECTIONS)}
    ]  # fmt: skip


def test_another_banks_consent_is_not_usable(session: Session, parties: dict[str, Actor]) -> None:
    make_consent(session, BUSINESS, "BANKB")
    with pytest.raises(ProfileAccessDeniedError):
        read_profile(session, parties["officer"], BUSINESS)
    assert read_profile(session, parties["other_bank"], BUSINESS).uscc == BUSINESS


def test_a_consent_for_one_business_opens_no_other(
    session: Session, parties: dict[str, Actor]
) -> None:
    make_consent(session, BUSINESS, "BANKA")
    with pytest.raises(ProfileAccessDeniedError):
        read_profile(session, parties["officer"], OTHER_BUSINESS)


def test_expired_and_revoked_consents_are_refused(
    session: Session, parties: dict[str, Actor]
) -> None:
    make_consent(session, BUSINESS, "BANKA", expired=True)
    make_consent(session, BUSINESS, "BANKA", revoked=True)
    with pytest.raises(ProfileAccessDeniedError):
        read_profile(session, parties["officer"], BUSINESS)
    live = grant(session, parties["business"], "BANKA", 5)
    assert read_profile(session, parties["officer"], BUSINESS)
    # Past its end, the same consent opens nothing.
    with pytest.raises(ProfileAccessDeniedError):
        read_profile(session, parties["officer"], BUSINESS, at=utcnow() + timedelta(days=6))
    revoke(session, parties["business"], live.id)
    with pytest.raises(ProfileAccessDeniedError):
        read_profile(session, parties["officer"], BUSINESS)
    assert [r["outcome"] for r in reads(session)] == ["refused", "allowed", "refused", "refused"]


def test_another_business_is_refused(session: Session, parties: dict[str, Actor]) -> None:
    with pytest.raises(ProfileAccessDeniedError):
        read_profile(session, parties["other_business"], BUSINESS)
    assert reads(session)[0]["outcome"] == "refused"


def test_a_refused_reader_cannot_tell_whether_a_profile_exists(
    session: Session, parties: dict[str, Actor]
) -> None:
    missing = "91330000MA2A00000X"
    with pytest.raises(ProfileAccessDeniedError):
        read_profile(session, parties["officer"], missing)
    with pytest.raises(ProfileNotFoundError) as raised:
        read_profile(session, parties["operator"], missing)
    assert raised.value.http_status == 404
    assert [r["outcome"] for r in reads(session, missing)] == ["refused", "not_found"]


def test_attempt_returns_instead_of_raising(session: Session, parties: dict[str, Actor]) -> None:
    refused = attempt_profile_read(session, parties["officer"], BUSINESS.lower())
    assert refused.outcome == "refused"
    assert refused.profile is None
    assert isinstance(refused.error, ProfileAccessDeniedError)
    allowed = attempt_profile_read(session, parties["business"], BUSINESS)
    assert allowed.error is None
    assert allowed.unwrap().uscc == BUSINESS


def test_no_clear_person_id_in_the_document(session: Session, parties: dict[str, Actor]) -> None:
    for uscc in (BUSINESS, OTHER_BUSINESS):
        text = json.dumps(read_profile(session, parties["operator"], uscc).document)
        assert [m for m in CLEAR_ID.findall(text) if is_valid_person_id(m)] == []
        assert re.search(r"[0-9]{4}\*+[0-9X]{4}", text)  # masked ids are there


def test_profile_names(session: Session, parties: dict[str, Actor]) -> None:
    assert profile_names(session, [BUSINESS, "91330000MA2A00000X"]) == {
        BUSINESS: "台州测试贸易有限公司"
    }
    assert profile_names(session, []) == {}
