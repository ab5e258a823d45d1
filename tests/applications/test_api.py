"""The applications API over HTTP (SQLite and PostgreSQL): apply, list, claim, move, track;
problem documents and the OpenAPI entries of every status it answers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.accounts.factories import USCCS
from tests.applications.factories import PHONE
from tests.market.factories import make_product
from tests.web.conftest import (  # noqa: F401  (fixtures)
    app,
    client,
    people,
    token,
)

BODY = {
    "amount": "150000.00",
    "term_months": 12,
    "purpose": "采购原材料",
    "contact_phone": PHONE,
}


def bearer(client: TestClient, username: str) -> dict[str, str]:  # noqa: F811
    return {"Authorization": f"Bearer {token(client, username)}"}


@pytest.fixture
def product_id(session: Session, people: dict[str, str]) -> int:  # noqa: F811
    return make_product(session, "BANKA", name="小微快贷").id


def test_apply_claim_and_move_through_the_api(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
) -> None:
    shop = bearer(client, people["enterprise"])
    bank_a = bearer(client, people["bank_officer"])
    bank_b = bearer(client, people["other_bank"])
    created = client.post(
        "/api/v1/applications", json={**BODY, "sections": ["operations", "risk"]}, headers=shop
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["pool"] is True
    assert body["bank_code"] is None
    assert body["amount"] == "150000.00"
    assert body["contact_phone"] == "138****5678"
    assert body["consent_sections"] == ["operations", "risk"]
    assert [e["stage"] for e in body["events"]] == ["submitted"]
    assert body["next_steps"] == ["withdrawn"]
    number, app_id = body["number"], body["id"]

    pool = client.get("/api/v1/applications?pool=true", headers=bank_b).json()
    assert pool["total"] == 1
    assert pool["items"][0]["uscc"] is None
    assert pool["items"][0]["contact_phone"] is None
    assert pool["items"][0]["next_steps"] == ["accepted"]

    won = client.post(f"/api/v1/applications/{app_id}/claim", headers=bank_a)
    assert won.status_code == 200, won.text
    assert won.json()["bank_code"] == "BANKA"
    assert won.json()["uscc"] == USCCS[0]
    lost = client.post(f"/api/v1/applications/{app_id}/claim", headers=bank_b)
    assert lost.status_code == 409
    assert lost.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"/api/v1/applications/{app_id}", headers=bank_b).status_code == 404

    steps = [
        ("under_review", bank_a, {}),
        ("approved", bank_a, {"approved_amount": "120000", "approved_rate": "4.35"}),
        ("contract_signed", shop, {}),
        ("disbursed", bank_a, {}),
    ]
    for to, who, extra in steps:
        moved = client.post(
            f"/api/v1/applications/{app_id}/transitions", json={"to": to, **extra}, headers=who
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == to
    final = client.get(f"/api/v1/applications/{app_id}", headers=shop).json()
    assert final["approved_amount"] == "120000.00"
    assert final["approved_rate"] == "4.35"
    assert [e["stage"] for e in final["events"]] == [
        "submitted", "accepted", "under_review", "approved", "contract_signed", "disbursed"
    ]  # fmt: skip
    assert final["stage_due_at"] is None
    assert final["next_steps"] == []

    public = client.get(f"/api/v1/track/{number}")
    assert public.status_code == 200
    tracked = public.json()
    assert tracked["status"] == "disbursed"
    assert tracked["bank_name"] == "甲银行"
    assert [s["state"] for s in tracked["stages"]] == ["done"] * 5 + ["current"]
    for secret in (USCCS[0], PHONE, "150000", "采购原材料", "138****5678"):
        assert secret not in public.text


def test_a_product_application_and_refusals(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
    product_id: int,
) -> None:
    shop = bearer(client, people["enterprise"])
    bank_a = bearer(client, people["bank_officer"])
    gov = bearer(client, people["government"])
    ops = bearer(client, people["operator"])
    created = client.post(
        "/api/v1/applications", json={**BODY, "product_id": product_id}, headers=shop
    )
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    assert created.json()["bank_code"] == "BANKA"
    assert created.json()["consent_id"]

    # Refused: other roles apply; out-of-range amount; unknown product; bad body.
    assert client.post("/api/v1/applications", json=BODY, headers=bank_a).status_code == 403
    too_much = client.post(
        "/api/v1/applications", json={**BODY, "amount": "900000", "product_id": product_id},
        headers=shop,
    )  # fmt: skip
    assert too_much.status_code == 400
    assert "amount" in too_much.json()["detail"]
    missing = client.post("/api/v1/applications", json={**BODY, "product_id": 9999}, headers=shop)
    assert missing.status_code == 404
    invalid = client.post(
        "/api/v1/applications", json={**BODY, "term_months": 0, "sections": ["x"]}, headers=shop
    )
    assert invalid.status_code == 422
    assert {e["where"] for e in invalid.json()["errors"]} >= {"body.term_months"}
    assert client.post("/api/v1/applications", json=BODY).status_code == 401

    # Who may move it.
    def move(to: str, headers: dict[str, str], **extra: str) -> int:
        return client.post(
            f"/api/v1/applications/{app_id}/transitions", json={"to": to, **extra}, headers=headers
        ).status_code

    assert move("accepted", shop) == 403
    assert move("approved", bank_a, approved_rate="4.35") == 409  # not from submitted
    assert move("accepted", gov) == 404
    assert move("accepted", ops) == 403
    assert move("accepted", bank_a) == 200
    assert move("withdrawn", bank_a) == 403
    assert move("flying", bank_a) == 422
    assert move("under_review", bank_a) == 200
    assert move("approved", bank_a) == 400  # the rate is needed
    assert move("approved", bank_a, approved_rate="20.00") == 400  # outside the product's range
    assert move("withdrawn", shop) == 200
    assert move("under_review", bank_a) == 409

    listed = client.get("/api/v1/applications?status=withdrawn", headers=ops).json()
    assert [a["id"] for a in listed["items"]] == [app_id]
    assert client.get("/api/v1/applications", headers=gov).json()["total"] == 0
    assert client.get("/api/v1/applications?status=nope", headers=ops).status_code == 422
    assert client.get("/api/v1/applications?size=500", headers=ops).status_code == 422
    assert client.get("/api/v1/track/PH20260101ABCDEFGH").status_code == 404
    assert client.get("/api/v1/track/x").status_code == 404
    assert client.get("/api/v1/applications/99999999999999999999", headers=ops).status_code == 422


def test_openapi_documents_every_status(client: TestClient) -> None:  # noqa: F811
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    expected = {
        ("/api/v1/applications", "get"): {"200", "400", "401", "422"},
        ("/api/v1/applications", "post"): {"201", "400", "401", "403", "404", "422"},
        ("/api/v1/applications/{application_id}", "get"): {"200", "401", "404", "422"},
        ("/api/v1/applications/{application_id}/claim", "post"): {
            "200", "401", "403", "404", "409", "422"
        },
        ("/api/v1/applications/{application_id}/transitions", "post"): {
            "200", "400", "401", "403", "404", "409", "422"
        },
        ("/api/v1/track/{number}", "get"): {"200", "404", "422"},  # 422: FastAPI adds it
    }  # fmt: skip
    for (path, method), statuses in expected.items():
        assert set(paths[path][method]["responses"]) == statuses, (path, method)
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert "uscc" not in schema["TrackOut"]["properties"]
    assert Decimal("1")  # money is a decimal string in the schema:
    amount = schema["ApplicationIn"]["properties"]["amount"]
    assert any(option.get("type") == "string" for option in amount.get("anyOf", [amount]))
