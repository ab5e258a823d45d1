"""A consent names the profile sections a bank may read: the service, the API and the page
give the bank those and nothing more, the audit row of each read names the consents and
sections, and a bank without a live consent gets 404."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor
from puhui.accounts.service import audit_entries
from puhui.consent.service import revoke
from puhui.features.access import ProfileAccessDeniedError, attempt_profile_read, read_profile
from puhui.features.profile import PROFILE_SECTIONS
from tests.accounts.factories import USCCS
from tests.consent.factories import BUSINESS, make_consent, make_parties
from tests.features.factories import make_profile
from tests.web.conftest import login, token

CERT = "浙（2020）台州市不动产权第00000001号"  # in the assets section of the test profile
CASE = "（2025）浙1002民初00000001号"  # in the risk section


@pytest.fixture
def parties(session: Session) -> dict[str, Actor]:
    found = make_parties(session)
    make_profile(session, BUSINESS, "台州测试贸易有限公司")
    return found


def last_read(session: Session, uscc: str = BUSINESS) -> dict[str, object]:
    return [e.detail for e in audit_entries(session, "profile", uscc)][-1]


def test_a_bank_reads_only_the_consented_sections(
    session: Session, parties: dict[str, Actor]
) -> None:
    consent = make_consent(session, BUSINESS, "BANKA", sections=["risk", "registration"])
    profile = read_profile(session, parties["officer"], BUSINESS)
    assert set(profile.document) == {"as_of", "registration", "risk"}
    assert profile.document["risk"]["court"][0]["case_no"] == CASE
    assert CERT not in str(profile.document)
    assert last_read(session) == {
        "outcome": "allowed", "basis": "consent", "consent_id": consent.id,
        "consent_ids": [consent.id], "sections": ["registration", "risk"],
    }  # fmt: skip


def test_free_readers_read_every_section(session: Session, parties: dict[str, Actor]) -> None:
    make_consent(session, BUSINESS, "BANKA", sections=["tags"])
    for who in ("business", "operator", "government"):
        read = attempt_profile_read(session, parties[who], BUSINESS)
        assert read.sections == PROFILE_SECTIONS
        assert read.profile is not None
        assert set(PROFILE_SECTIONS) <= set(read.profile.document)


def test_live_consents_add_up_and_revoking_one_takes_its_sections_back(
    session: Session, parties: dict[str, Actor]
) -> None:
    registration = make_consent(session, BUSINESS, "BANKA", days=10, sections=["registration"])
    assets = make_consent(session, BUSINESS, "BANKA", days=60, sections=["assets"])
    make_consent(session, BUSINESS, "BANKA", sections=["risk"], revoked=True)
    make_consent(session, BUSINESS, "BANKA", sections=["tags"], expired=True)
    make_consent(session, BUSINESS, "BANKB", sections=["operations"])  # another bank's
    read = attempt_profile_read(session, parties["officer"], BUSINESS)
    assert read.sections == ("registration", "assets")
    assert read.consent_id == assets.id  # the one that lasts longest
    assert read.consent_ids == (assets.id, registration.id)
    revoke(session, parties["business"], assets.id)
    read = attempt_profile_read(session, parties["officer"], BUSINESS)
    assert read.sections == ("registration",)
    assert read.profile is not None
    assert CERT not in str(read.profile.document)
    assert last_read(session)["consent_ids"] == [registration.id]


def test_without_a_live_consent_a_bank_gets_404_and_nothing(
    session: Session, parties: dict[str, Actor]
) -> None:
    make_consent(session, BUSINESS, "BANKA", expired=True)
    read = attempt_profile_read(session, parties["officer"], BUSINESS)
    assert (read.outcome, read.profile, read.sections) == ("refused", None, ())
    with pytest.raises(ProfileAccessDeniedError) as raised:
        read_profile(session, parties["officer"], BUSINESS)
    assert raised.value.http_status == 404
    assert last_read(session) == {"outcome": "refused"}


def test_the_api_sends_only_the_consented_sections(
    client: TestClient, session: Session, people: dict[str, str]
) -> None:
    make_profile(session, USCCS[0])
    done = client.post(
        "/api/v1/consents",
        json={"bank_code": "BANKA", "days": 30, "sections": ["operations", "tags"]},
        headers={"Authorization": f"Bearer {token(client, 'shop')}"},
    )
    assert done.status_code == 201, done.text
    assert done.json()["sections"] == ["operations", "tags"]
    officer = {"Authorization": f"Bearer {token(client, 'a-officer')}"}
    body = client.get(f"/api/v1/profiles/{USCCS[0]}", headers=officer).json()
    assert set(body["document"]) == {"as_of", "operations", "tags"}
    assert body["name"]  # the name (public register data) always comes
    other = client.get(
        f"/api/v1/profiles/{USCCS[0]}",
        headers={"Authorization": f"Bearer {token(client, 'b-officer')}"},
    )
    assert other.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"


def test_the_page_shows_only_the_consented_sections(
    client: TestClient, session: Session, people: dict[str, str]
) -> None:
    make_profile(session, USCCS[0], "台州测试贸易有限公司")
    make_consent(session, USCCS[0], "BANKA", sections=["registration", "risk"])
    login(client, "a-officer")
    page = client.get(f"/profiles/{USCCS[0]}?lang=en")
    assert page.status_code == 200
    assert CASE in page.text
    assert CERT not in page.text
    for withheld in ("relations", "operations", "assets", "tags", "features"):
        assert f'data-withheld="{withheld}"' in page.text, withheld
    assert 'data-withheld="risk"' not in page.text
    assert "Not covered by the business&#39;s consent." in page.text
    assert "The consent covers 2 of the 7 sections." in page.text
    assert "chart-money" not in page.text  # no operations chart data in the page
    zh = client.get(f"/profiles/{USCCS[0]}?lang=zh_CN")
    assert "该板块不在企业的授权范围内。" in zh.text
