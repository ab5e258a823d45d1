"""The consents page: a business grants and revokes (forms with CSRF), a bank sees its bank's
consents and nothing else, in Chinese and English."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from puhui.consent.service import has_consent
from tests.accounts.factories import USCCS
from tests.consent.factories import make_consent
from tests.features.factories import make_profile
from tests.web.conftest import csrf_of, login

BUSINESS, OTHER = USCCS


def test_a_business_grants_and_revokes_with_the_form(
    client: TestClient, session: Session, people: dict[str, str]
) -> None:
    login(client, "shop")
    page = client.get("/consents")
    assert page.status_code == 200
    assert "向银行授权" in page.text
    assert "暂无授权" in page.text
    assert 'value="BANKA"' in page.text
    assert 'value="BANKB"' in page.text
    csrf = csrf_of(page.text)
    # Without the CSRF token: refused, nothing granted.
    forged = client.post("/consents", data={"bank_code": "BANKA", "days": "30"})
    assert forged.status_code == 403
    assert not has_consent(session, "BANKA", BUSINESS)
    done = client.post(
        "/consents",
        data={"bank_code": "BANKA", "days": "30", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert has_consent(session, "BANKA", BUSINESS)
    listed = client.get("/consents").text
    assert "有效" in listed
    assert "撤销" in listed
    consent_id = listed.split('data-consent="')[1].split('"')[0]
    assert client.post(f"/consents/{consent_id}/revoke").status_code == 403  # no token
    revoked = client.post(
        f"/consents/{consent_id}/revoke", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert not has_consent(session, "BANKA", BUSINESS)
    assert "已撤销" in client.get("/consents").text


def test_a_bad_grant_shows_why(client: TestClient, people: dict[str, str]) -> None:
    login(client, "shop")
    csrf = csrf_of(client.get("/consents").text)
    done = client.post(
        "/consents?lang=en", data={"bank_code": "BANKA", "days": "500", "csrf_token": csrf}
    )
    assert done.status_code == 400
    assert "1 to 365 days" in done.text


def test_a_bank_sees_its_banks_consents_only(
    client: TestClient, session: Session, people: dict[str, str]
) -> None:
    make_profile(session, BUSINESS, "台州测试贸易有限公司")
    mine = make_consent(session, BUSINESS, "BANKA")
    theirs = make_consent(session, OTHER, "BANKB")
    login(client, "a-officer")
    page = client.get("/consents?lang=en")
    assert page.status_code == 200
    assert f'data-consent="{mine.id}"' in page.text
    assert f'data-consent="{theirs.id}"' not in page.text
    assert f'href="/profiles/{BUSINESS}"' in page.text
    assert "台州测试贸易有限公司" in page.text
    assert "Authorise a bank" not in page.text
    assert "/revoke" not in page.text
    assert '<html lang="en">' in page.text
    # Posting the form anyway: the service refuses.
    csrf = csrf_of(page.text)
    refused = client.post(
        "/consents", data={"bank_code": "BANKA", "days": "30", "csrf_token": csrf}
    )
    assert refused.status_code == 403
    revoke = client.post(f"/consents/{mine.id}/revoke", data={"csrf_token": csrf})
    assert revoke.status_code == 403
    other = client.post(f"/consents/{theirs.id}/revoke", data={"csrf_token": csrf})
    assert other.status_code == 404
    assert has_consent(session, "BANKA", BUSINESS)
    assert has_consent(session, "BANKB", OTHER)


def test_government_sees_no_consents(client: TestClient, people: dict[str, str]) -> None:
    login(client, "gov")
    page = client.get("/consents")
    assert page.status_code == 200
    assert "data-consent" not in page.text


def test_the_form_names_the_sections_and_a_business_may_narrow_them(
    client: TestClient, session: Session, people: dict[str, str]
) -> None:
    login(client, "shop")
    page = client.get("/consents?lang=en")
    for code in ("registration", "relations", "operations", "assets", "risk", "tags", "features"):
        assert f'name="sections" value="{code}" checked' in page.text, code
    assert "Sections the bank may read" in page.text
    done = client.post(
        "/consents",
        data={"bank_code": "BANKB", "days": "60", "sections": ["risk", "registration"],
              "sections_offered": "1", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303
    listed = client.get("/consents?lang=en").text
    assert 'data-sections="registration,risk"' in listed
    assert '<span class="tag">Registration</span><span class="tag">Risk</span>' in listed
    assert "59 days left" in listed or "60 days left" in listed
    assert has_consent(session, "BANKB", BUSINESS)


def test_ticking_no_section_is_refused_and_the_form_is_kept(
    client: TestClient, session: Session, people: dict[str, str]
) -> None:
    login(client, "shop")
    csrf = csrf_of(client.get("/consents").text)
    done = client.post(
        "/consents?lang=en",
        data={"bank_code": "BANKB", "days": "45", "note": "流动资金", "sections_offered": "1",
              "csrf_token": csrf},
    )  # fmt: skip
    assert done.status_code == 400
    assert "choose at least one profile section" in done.text
    assert '<option value="BANKB" selected>' in done.text
    assert 'value="45"' in done.text
    assert 'value="流动资金"' in done.text
    assert 'name="sections" value="registration" checked' not in done.text
    assert not has_consent(session, "BANKB", BUSINESS)


def test_a_consent_page_shows_its_ledger_entries(
    client: TestClient, session: Session, people: dict[str, str]
) -> None:
    consent = make_consent(session, BUSINESS, "BANKA", sections=["assets"], revoked=True)
    login(client, "a-officer")
    page = client.get(f"/consents/{consent.id}?lang=en")
    assert page.status_code == 200
    assert 'data-status="revoked"' in page.text
    assert page.text.count("data-ledger-seq=") == 2
    assert ">Grant<" in page.text
    assert ">Revoke<" in page.text
    assert 'data-section="assets"' in page.text
    assert "/revoke" not in page.text  # the bank may not revoke, and it is revoked already
    login(client, "b-officer")
    assert client.get(f"/consents/{consent.id}").status_code == 404
