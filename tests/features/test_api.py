"""``GET /api/v1/profiles/{uscc}``: problem details for 401 and 404 (a refusal is a 404 too);
every call, refused ones too, is in the audit log after the request is done."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from puhui.accounts.service import audit_entries
from tests.accounts.factories import USCCS
from tests.consent.factories import make_consent
from tests.features.factories import make_profile
from tests.web.conftest import token

PROBLEM = "application/problem+json"
BUSINESS = USCCS[0]  # the uscc of the `shop` user of the web fixtures


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def client_token(client: TestClient, credentials: tuple[str, str]) -> str:
    done = client.post(
        "/api/v1/token",
        data={"grant_type": "client_credentials", "client_id": credentials[0],
              "client_secret": credentials[1]},
    )  # fmt: skip
    assert done.status_code == 200, done.text
    value: str = done.json()["access_token"]
    return value


def outcomes(session: Session, uscc: str = BUSINESS) -> list[tuple[str, str]]:
    return [
        (e.actor_role, str(e.detail["outcome"]))
        for e in audit_entries(session, "profile", uscc)
        if e.action == "profile.read"
    ]


def test_anonymous_gets_401(client: TestClient, session: Session) -> None:
    make_profile(session, BUSINESS)
    done = client.get(f"/api/v1/profiles/{BUSINESS}")
    assert done.status_code == 401
    assert done.headers["content-type"] == PROBLEM
    assert done.headers["www-authenticate"] == "Bearer"
    assert outcomes(session) == []


def test_the_business_reads_its_own(
    client: TestClient, session: Session, people: dict[str, str]
) -> None:
    make_profile(session, BUSINESS)
    done = client.get(f"/api/v1/profiles/{BUSINESS}", headers=bearer(token(client, "shop")))
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["uscc"] == BUSINESS
    assert set(body["document"]) >= {"registration", "relations", "operations", "risk"}
    assert re.fullmatch(r"[0-9]{4}\*+[0-9X]{4}", body["document"]["registration"]["legal_rep_id"])
    assert outcomes(session) == [("enterprise", "allowed")]


def test_a_bank_without_consent_gets_a_404_problem_and_is_audited(
    client: TestClient, session: Session, people: dict[str, str]
) -> None:
    make_profile(session, BUSINESS)
    done = client.get(
        f"/api/v1/profiles/{BUSINESS}",
        headers={**bearer(token(client, "a-officer")), "Accept-Language": "en"},
    )
    assert done.status_code == 404
    assert done.headers["content-type"] == PROBLEM
    problem = done.json()
    assert problem["status"] == 404
    assert problem["title"] == "Not found"
    assert "consent" in problem["detail"]
    assert "document" not in problem
    assert "台州" not in done.text
    # The refusal was committed with the request, not rolled back with an exception.
    assert outcomes(session) == [("bank_officer", "refused")]
    zh = client.get(f"/api/v1/profiles/{BUSINESS}", headers=bearer(token(client, "a-officer")))
    assert zh.status_code == 404
    assert zh.json()["title"] == "未找到"
    assert "授权" in zh.json()["detail"]


def test_a_banks_system_with_consent_reads(
    client: TestClient, session: Session, bank_client: tuple[str, str]
) -> None:
    make_profile(session, BUSINESS)
    make_consent(session, BUSINESS, "BANKA")
    value = client_token(client, bank_client)
    done = client.get(f"/api/v1/profiles/{BUSINESS}", headers=bearer(value))
    assert done.status_code == 200, done.text
    # The other bank's officer still gets nothing.
    other = client.get(f"/api/v1/profiles/{BUSINESS}", headers=bearer(token(client, "b-officer")))
    assert other.status_code == 404
    assert outcomes(session) == [("bank_system", "allowed"), ("bank_officer", "refused")]


def test_missing_profile_is_404_for_a_reader_and_for_a_stranger(
    client: TestClient, session: Session, people: dict[str, str]
) -> None:
    missing = "91330000MA2A00000X"
    done = client.get(f"/api/v1/profiles/{missing}", headers=bearer(token(client, "ops")))
    assert done.status_code == 404
    assert done.headers["content-type"] == PROBLEM
    stranger = client.get(f"/api/v1/profiles/{missing}", headers=bearer(token(client, "a-admin")))
    assert stranger.status_code == 404
    # The same answer as for a profile that exists: a refusal reveals nothing.
    existing = client.get(f"/api/v1/profiles/{BUSINESS}", headers=bearer(token(client, "a-admin")))
    assert stranger.json()["detail"] == existing.json()["detail"]
    assert outcomes(session, missing) == [("operator", "not_found"), ("bank_admin", "refused")]


def test_the_operation_is_documented(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/profiles/{uscc}"]["get"]
    assert PROBLEM in operation["responses"]["403"]["content"]
    assert PROBLEM in operation["responses"]["404"]["content"]
