"""The market API as banks' systems and people call it: products, white lists, a business's
products; problem details for every refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.accounts.conftest import fast_hashing  # noqa: F401  (autouse here too)
from tests.accounts.factories import USCCS
from tests.market.factories import make_product, make_run, region_row
from tests.web.conftest import (  # noqa: F401  (fixtures)
    app,
    bank_client,
    client,
    people,
    token,
)

BODY: dict[str, Any] = {
    "name": "小微快贷",
    "amount_min": "10000",
    "amount_max": "300000.50",
    "term_min": 3,
    "term_max": 12,
    "rate_min": "3.85",
    "rate_max": "6.5",
    "guarantee": "credit",
    "tiers": ["growth"],
    "min_credit_points": 600,
}


def bearer(client: TestClient, username: str) -> dict[str, str]:  # noqa: F811
    return {"Authorization": f"Bearer {token(client, username)}"}


def system_bearer(client: TestClient, credentials: tuple[str, str]) -> dict[str, str]:  # noqa: F811
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


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    return body


def test_a_bank_system_publishes_a_product_that_the_public_then_sees(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
    bank_client: tuple[str, str],  # noqa: F811
) -> None:
    system = system_bearer(client, bank_client)
    created = client.post("/api/v1/products", json=BODY, headers=system)
    assert created.status_code == 201, created.text
    product = created.json()
    assert (product["bank"], product["status"], product["amount_max"]) == (
        "BANKA",
        "draft",
        "300000.50",
    )
    pid = product["id"]
    # A draft is the bank's own: the public and another bank get 404, not a hint.
    assert_problem(client.get(f"/api/v1/products/{pid}"), 404)
    assert_problem(
        client.get(f"/api/v1/products/{pid}", headers=bearer(client, people["other_bank"])), 404
    )
    assert client.get(f"/api/v1/products/{pid}", headers=system).status_code == 200
    drafts = client.get("/api/v1/products?status=draft", headers=system).json()
    assert [p["id"] for p in drafts["items"]] == [pid]

    changed = client.patch(f"/api/v1/products/{pid}", json={"rate_min": "4.10"}, headers=system)
    assert changed.json()["rate_min"] == "4.10"
    assert client.post(f"/api/v1/products/{pid}/publish", headers=system).status_code == 200
    listed = client.get("/api/v1/products", params={"amount": 200000, "term": 6}).json()
    assert [p["id"] for p in listed["items"]] == [pid]
    assert (listed["page"], listed["size"], listed["total"]) == (1, 20, 1)
    assert client.get("/api/v1/products", params={"amount": 400000}).json()["total"] == 0
    assert client.get("/api/v1/products", params={"rate": "4"}).json()["total"] == 0
    conflict = client.post(f"/api/v1/products/{pid}/publish", headers=system)
    assert_problem(conflict, 409)


def test_refusals_are_problems(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
    session: Session,
) -> None:
    assert_problem(client.post("/api/v1/products", json=BODY), 401)
    officer = bearer(client, people["bank_officer"])
    assert_problem(client.post("/api/v1/products", json=BODY, headers=officer), 403)
    admin = bearer(client, people["bank_admin"])
    foreign = client.post("/api/v1/products", json={**BODY, "bank": "BANKB"}, headers=admin)
    assert assert_problem(foreign, 403)["detail"] == "只能为本行创建产品"
    invalid = client.post(
        "/api/v1/products",
        json={**BODY, "amount_min": "999999999", "guarantee": "hope"},
        headers=admin,
    )
    body = assert_problem(invalid, 422)
    assert body["type"] == "/problems/validation-error"
    assert {e["where"] for e in body["errors"]} >= {"body.guarantee"}
    assert_problem(client.get("/api/v1/products?size=101"), 422)
    assert_problem(client.get("/api/v1/products?sort=cheapest"), 422)
    assert_problem(client.get("/api/v1/products/999999"), 404)
    english = client.get("/api/v1/products/999999", headers={"Accept-Language": "en"})
    assert assert_problem(english, 404)["detail"] == "no product 999999"
    other = make_product(session, "BANKB")
    assert_problem(client.post(f"/api/v1/products/{other.id}/withdraw", headers=admin), 403)


def test_white_lists_and_a_business_products(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
    session: Session,
    tmp_path: Path,
) -> None:
    mine = make_product(session, "BANKA", min_credit_points=600, tiers=["growth"])
    theirs = make_product(session, "BANKB", min_credit_points=750)
    make_run(
        session,
        tmp_path,
        region_row(USCCS[0], pre_credit_limit=150_000.0, rate=5.2, credit_points=700.0),
        region_row(USCCS[1], tier="development", credit_points=800.0),
    )

    white = client.get(
        f"/api/v1/products/{mine.id}/matches", headers=bearer(client, people["bank_officer"])
    )
    assert white.status_code == 200, white.text
    items = white.json()["items"]
    assert 0 < items[0].pop("fit") <= 1
    assert items == [
        {
            "uscc": USCCS[0],
            "as_of": "2026-06-30",
            "pre_credit_limit": "150000.00",
            "rate": "5.20",
            "gov_lists": [],
        }
    ]
    for who in ("other_bank", "enterprise"):
        assert_problem(
            client.get(f"/api/v1/products/{mine.id}/matches", headers=bearer(client, people[who])),
            403,
        )
    assert (
        client.get(
            f"/api/v1/products/{theirs.id}/matches", headers=bearer(client, people["government"])
        ).json()["total"]
        == 1
    )

    shop = bearer(client, people["enterprise"])
    ranked = client.get(f"/api/v1/businesses/{USCCS[0]}/products", headers=shop)
    assert ranked.status_code == 200, ranked.text
    items = ranked.json()["items"]
    assert [(i["product"]["id"], i["eligible"]) for i in items] == [
        (mine.id, True),
        (theirs.id, False),
    ]
    assert {r["code"] for r in items[0]["fits"]} >= {"min_credit_points", "tier", "limit"}
    assert items[0]["fails"] == []
    assert items[1]["fails"] == [{"code": "min_credit_points", "text": "信用分低于产品要求"}]
    english = client.get(
        f"/api/v1/businesses/{USCCS[0]}/products?eligible_only=true&lang=en", headers=shop
    ).json()
    assert [i["product"]["id"] for i in english["items"]] == [mine.id]
    assert english["items"][0]["fits"][0]["text"].isascii()
    assert_problem(client.get(f"/api/v1/businesses/{USCCS[1]}/products", headers=shop), 403)
    assert_problem(
        client.get(
            f"/api/v1/businesses/{USCCS[0]}/products", headers=bearer(client, people["government"])
        ),
        403,
    )
    bank_b = client.get(
        f"/api/v1/businesses/{USCCS[0]}/products", headers=bearer(client, people["other_bank"])
    ).json()
    assert [i["product"]["id"] for i in bank_b["items"]] == [theirs.id]
    assert_problem(client.get("/api/v1/businesses/not-a-uscc/products", headers=shop), 422)


def test_openapi_documents_the_market(client: TestClient) -> None:  # noqa: F811
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/products",
        "/api/v1/products/{product_id}",
        "/api/v1/products/{product_id}/matches",
        "/api/v1/businesses/{uscc}/products",
    ):
        assert path in paths
