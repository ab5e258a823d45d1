"""``/api/v1/consents``: grant, list (narrowed, paged), revoke, with problem details."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.accounts.factories import USCCS
from tests.consent.factories import make_consent
from tests.web.conftest import csrf_of, login, token

PROBLEM = "application/problem+json"
BUSINESS, OTHER = USCCS


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_a_business_grants_lists_and_revokes(client: TestClient, people: dict[str, str]) -> None:
    shop = bearer(token(client, "shop"))
    done = client.post("/api/v1/consents", json={"bank_code": "BANKA", "days": 30}, headers=shop)
    assert done.status_code == 201, done.text
    consent = done.json()
    assert consent["uscc"] == BUSINESS
    assert consent["status"] == "live"
    assert consent["scope"] == "profile"
    listed = client.get("/api/v1/consents", headers=shop).json()
    assert listed["total"] == 1
    assert listed["items"][0]["id"] == consent["id"]
    assert set(listed) == {"items", "page", "size", "total"}
    # The bank sees it, and may not revoke it.
    officer = bearer(token(client, "a-officer"))
    assert client.get("/api/v1/consents", headers=officer).json()["total"] == 1
    refused = client.delete(f"/api/v1/consents/{consent['id']}", headers=officer)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM
    # Another bank sees nothing and finds nothing.
    other = bearer(token(client, "b-officer"))
    assert client.get("/api/v1/consents", headers=other).json() == {
        "items": [], "page": 1, "size": 20, "total": 0
    }  # fmt: skip
    assert client.delete(f"/api/v1/consents/{consent['id']}", headers=other).status_code == 404
    revoked = client.delete(f"/api/v1/consents/{consent['id']}", headers=shop)
    assert revoked.status_code == 200
    assert revoked.json()["status"] == "revoked"
    again = client.delete(f"/api/v1/consents/{consent['id']}", headers=shop)
    assert again.status_code == 409
    live = client.get("/api/v1/consents?live=true", headers=officer).json()
    assert live["total"] == 0


def test_who_may_not_grant_gets_403(client: TestClient, people: dict[str, str]) -> None:
    for username in ("a-officer", "gov", "a-admin"):
        done = client.post(
            "/api/v1/consents",
            json={"bank_code": "BANKA", "days": 30, "uscc": BUSINESS},
            headers={**bearer(token(client, username)), "Accept-Language": "en"},
        )
        assert done.status_code == 403, username
        assert done.headers["content-type"] == PROBLEM
        assert "grant" in done.json()["detail"]


def test_bad_requests_are_problems(client: TestClient, people: dict[str, str]) -> None:
    shop = bearer(token(client, "shop"))
    too_long = client.post(
        "/api/v1/consents", json={"bank_code": "BANKA", "days": 400}, headers=shop
    )
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["where"] == "body.days"
    no_bank = client.post("/api/v1/consents", json={"bank_code": "NOPE", "days": 3}, headers=shop)
    assert no_bank.status_code == 404
    assert client.post("/api/v1/consents", json={"bank_code": "BANKA"}).status_code == 401


def test_an_operator_grants_for_a_business_and_sees_all(
    client: TestClient, session: Session, people: dict[str, str]
) -> None:
    make_consent(session, BUSINESS, "BANKB")
    ops = bearer(token(client, "ops"))
    done = client.post(
        "/api/v1/consents", json={"bank_code": "BANKA", "days": 7, "uscc": OTHER}, headers=ops
    )
    assert done.status_code == 201
    page = client.get("/api/v1/consents?size=1", headers=ops).json()
    assert page["total"] == 2
    assert len(page["items"]) == 1
    assert page["items"][0]["uscc"] == OTHER  # newest first
    assert client.get("/api/v1/consents", headers=bearer(token(client, "gov"))).json()["total"] == 0


def test_a_page_session_needs_the_csrf_header(client: TestClient, people: dict[str, str]) -> None:
    login(client, "shop")
    body = {"bank_code": "BANKA", "days": 30}
    assert client.post("/api/v1/consents", json=body).status_code == 403
    csrf = csrf_of(client.get("/consents").text)
    done = client.post("/api/v1/consents", json=body, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 201


def test_sections_are_granted_checked_and_shown_with_the_ledger(
    client: TestClient, people: dict[str, str]
) -> None:
    shop = bearer(token(client, "shop"))
    bad = client.post(
        "/api/v1/consents",
        json={"bank_code": "BANKA", "sections": ["registration", "salaries"]},
        headers={**shop, "Accept-Language": "en"},
    )
    assert bad.status_code == 400
    assert bad.headers["content-type"] == PROBLEM
    assert "sections" in bad.json()["detail"]
    assert "salaries" in bad.json()["detail"]
    done = client.post(
        "/api/v1/consents",
        json={"bank_code": "BANKA", "sections": ["risk"], "application": "PH0001"},
        headers=shop,
    )
    assert done.status_code == 201
    consent = done.json()
    assert consent["sections"] == ["risk"]
    assert client.delete(f"/api/v1/consents/{consent['id']}", headers=shop).status_code == 200
    officer = bearer(token(client, "a-officer"))
    detail = client.get(f"/api/v1/consents/{consent['id']}", headers=officer)
    assert detail.status_code == 200
    body = detail.json()
    assert body["status"] == "revoked"
    grant_entry, revoke_entry = body["ledger"]
    assert (grant_entry["event"], revoke_entry["event"]) == ("grant", "revoke")
    assert grant_entry["application"] == "PH0001"
    assert grant_entry["sections"] == "risk"
    assert revoke_entry["prev_hash"] == grant_entry["entry_hash"]
    other = client.get(
        f"/api/v1/consents/{consent['id']}", headers=bearer(token(client, "b-officer"))
    )
    assert other.status_code == 404
