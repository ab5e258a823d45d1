"""The decisions API as a bank's system and the survey's users meet it: tokens, consent,
other banks, bad bodies, the hint, and ping."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from puhui.accounts.models import AuditEntry
from tests.accounts.factories import USCCS, make_user
from tests.consent.factories import make_consent
from tests.decisions.factories import clean_features, dial_spec, make_profile, register
from tests.market.factories import make_product
from tests.web.conftest import token

BUSINESS, OTHER = USCCS


@pytest.fixture
def ready(session: Session, people: dict[str, str]) -> dict[str, str]:
    """A champion, the business's profile and its consent for BANKA; role → username."""
    register(session, dial_spec(), "champion")
    make_profile(session, BUSINESS, clean_features())
    make_consent(session, BUSINESS, "BANKA")
    make_user(session, "customer_manager", bank="BANKA", username="a-manager")
    return {**people, "manager": "a-manager"}


def bearer(client: TestClient, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(client, username)}"}


def client_bearer(client: TestClient, credentials: tuple[str, str]) -> dict[str, str]:
    done = client.post(
        "/api/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": credentials[0],
            "client_secret": credentials[1],
        },
    )
    assert done.status_code == 200, done.text
    return {"Authorization": f"Bearer {done.json()['access_token']}"}


def post(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/api/v1/decisions", json=body, headers=headers)


def test_a_banks_system_gets_a_decision(
    client: TestClient, ready: dict[str, str], bank_client: tuple[str, str], session: Session
) -> None:
    headers = client_bearer(client, bank_client)
    done = post(client, headers, uscc=BUSINESS, amount="300000.00", term_months=12)
    assert done.status_code == 201, done.text
    body = done.json()
    assert body["id"].startswith("DC")
    assert body["outcome"] == "refer"
    assert body["reasons"][0]["code"] == "over_limit"
    assert body["reasons"][0]["text"] == body["reasons"][0]["zh"]  # Chinese by default
    assert (body["pre_credit_limit"], body["rate"], body["approved_amount"]) == (
        "240000.00",
        "4.98",
        None,
    )
    assert body["result"]["rating"]["pd"] > 0
    english = client.get(
        f"/api/v1/decisions/{body['id']}", headers={**headers, "Accept-Language": "en"}
    )
    assert english.status_code == 200
    assert english.json()["reasons"][0]["text"].startswith("amount requested above")


def test_approve_on_an_instant_product(
    client: TestClient, ready: dict[str, str], session: Session
) -> None:
    product = make_product(session, "BANKA", instant=True)
    done = post(
        client,
        bearer(client, ready["bank_officer"]),
        uscc=BUSINESS,
        amount="50000",
        product_id=product.id,
    )
    assert done.status_code == 201, done.text
    body = done.json()
    assert (body["outcome"], body["instant"], body["approved_amount"]) == (
        "approve",
        True,
        "50000.00",
    )


def test_without_a_token_401(client: TestClient, ready: dict[str, str]) -> None:
    done = post(client, {}, uscc=BUSINESS, amount="1000")
    assert done.status_code == 401
    assert done.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("who", ["operator", "enterprise", "government", "manager"])
def test_only_banks_may_ask(client: TestClient, ready: dict[str, str], who: str) -> None:
    done = post(client, bearer(client, ready[who]), uscc=BUSINESS, amount="1000")
    assert done.status_code == 403
    assert done.headers["content-type"].startswith("application/problem+json")


def test_without_consent_403_and_audited(
    client: TestClient, ready: dict[str, str], session: Session
) -> None:
    make_profile(session, OTHER, clean_features())
    done = post(client, bearer(client, ready["other_bank"]), uscc=BUSINESS, amount="1000")
    assert done.status_code == 403
    assert "授权" in done.json()["detail"]
    refused = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "decision.refused")
    ).all()
    assert [(e.actor_bank, e.object_id) for e in refused] == [("BANKB", BUSINESS)]


def test_other_banks_get_404(client: TestClient, ready: dict[str, str]) -> None:
    done = post(client, bearer(client, ready["bank_officer"]), uscc=BUSINESS, amount="1000")
    decision_id = done.json()["id"]
    admin = client.get(
        f"/api/v1/decisions/{decision_id}", headers=bearer(client, ready["bank_admin"])
    )
    assert admin.status_code == 200
    operator = client.get(
        f"/api/v1/decisions/{decision_id}", headers=bearer(client, ready["operator"])
    )
    assert operator.status_code == 200
    for who in ("other_bank", "enterprise", "government"):
        seen = client.get(f"/api/v1/decisions/{decision_id}", headers=bearer(client, ready[who]))
        assert seen.status_code == 404, who
    missing = client.get(
        "/api/v1/decisions/DC20260101XXXXXXXXXX", headers=bearer(client, ready["bank_admin"])
    )
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "where"),
    [
        ({"uscc": BUSINESS, "amount": "-1"}, 422, "body.amount"),
        ({"uscc": BUSINESS, "amount": "1.001"}, 422, "body.amount"),
        ({"uscc": BUSINESS}, 422, "body.amount"),
        ({"uscc": BUSINESS, "amount": "100", "term_months": 0}, 422, "body.term_months"),
        ({"uscc": BUSINESS, "amount": "100", "extra": 1}, 422, "body.extra"),
        ({"uscc": "91110000600037341X", "amount": "100"}, 400, "uscc"),
        ({"uscc": BUSINESS, "amount": "100", "product_id": 999999}, 404, "product_id"),
    ],
)
def test_bad_bodies_name_the_field(
    client: TestClient, ready: dict[str, str], body: dict[str, Any], status: int, where: str
) -> None:
    done = client.post(
        "/api/v1/decisions",
        json=body,
        headers={**bearer(client, ready["bank_officer"]), "Accept-Language": "en"},
    )
    assert done.status_code == status, done.text
    problem = done.json()
    if status == 422:
        assert where in [e["where"] for e in problem["errors"]]
    else:
        assert problem["detail"].startswith(f"{where}:")
    assert "Traceback" not in done.text


def test_hint_for_the_business_itself(client: TestClient, ready: dict[str, str]) -> None:
    done = client.post(
        "/api/v1/decisions/hint",
        json={"uscc": BUSINESS, "revenue": "100000", "profit": "5000", "employees": 3},
        headers=bearer(client, ready["enterprise"]),
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["risk"], body["suggested_amount"], body["rate"]) == ("low", "60000.00", "4.98")
    assert body["risk_text"] == "风险较低，有望获得贷款"
    assert [a["feature"] for a in body["adjustments"]] == [
        "revenue_avg_12m",
        "revenue_avg_3m",
        "insured_latest",
    ]
    manager = client.post(
        "/api/v1/decisions/hint", json={"uscc": BUSINESS}, headers=bearer(client, ready["manager"])
    )
    assert manager.status_code == 200


@pytest.mark.parametrize(
    ("who", "body", "status"),
    [
        ("bank_officer", {"uscc": BUSINESS}, 403),
        ("enterprise", {"uscc": OTHER}, 403),
        ("enterprise", {"uscc": BUSINESS, "rent": "-5"}, 422),
        ("enterprise", {"uscc": BUSINESS, "employees": "many"}, 422),
        ("operator", {"uscc": OTHER}, 404),
    ],
)
def test_hint_refusals(
    client: TestClient, ready: dict[str, str], who: str, body: dict[str, Any], status: int
) -> None:
    done = client.post("/api/v1/decisions/hint", json=body, headers=bearer(client, ready[who]))
    assert done.status_code == status, done.text


def test_ping_needs_nothing(client: TestClient) -> None:
    done = client.get("/api/v1/ping")
    assert done.status_code == 200
    assert done.json() == {"status": "ok"}


def test_the_endpoints_are_documented(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {
        "/api/v1/decisions",
        "/api/v1/decisions/{decision_id}",
        "/api/v1/decisions/hint",
    } <= set(paths)
    assert "/api/v1/ping" in paths
