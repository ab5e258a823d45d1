"""The instant loan over HTTP (SQLite and PostgreSQL): an instant product's application is
decided on submission; the bank's refer queue in the API and on its applications page; an
officer's override through the API, refused without a reason."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from puhui.accounts.models import AuditEntry
from tests.accounts.factories import USCCS
from tests.applications.factories import PHONE
from tests.decisions.factories import DIAL, GREY, clean_features, dial_spec, make_profile, register
from tests.market.factories import make_product
from tests.web.conftest import (  # noqa: F401  (fixtures)
    app,
    client,
    csrf_of,
    login,
    people,
    token,
)


def bearer(client: TestClient, username: str) -> dict[str, str]:  # noqa: F811
    return {"Authorization": f"Bearer {token(client, username)}"}


@pytest.fixture
def referred(
    session: Session,
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
) -> int:
    """An application to an instant product that the engine referred to a person."""
    register(session, dial_spec(), "champion")
    make_profile(session, USCCS[0], clean_features(**{DIAL: GREY}))
    product = make_product(session, "BANKA", name="秒批贷", instant=True)
    body = {
        "product_id": product.id,
        "amount": "100000",
        "term_months": 12,
        "purpose": "采购",
        "contact_phone": PHONE,
    }
    created = client.post(
        "/api/v1/applications", json=body, headers=bearer(client, people["enterprise"])
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "under_review"
    assert created.json()["decision_id"] is not None
    return int(created.json()["id"])


def test_the_refer_queue_and_an_override(
    session: Session,
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
    referred: int,
) -> None:
    bank_a = bearer(client, people["bank_officer"])
    bank_b = bearer(client, people["other_bank"])
    queue = client.get("/api/v1/applications?referred=true", headers=bank_a).json()
    assert [item["id"] for item in queue["items"]] == [referred]
    assert client.get("/api/v1/applications?referred=true", headers=bank_b).json()["total"] == 0

    url = f"/api/v1/applications/{referred}/override"
    empty = client.post(
        url, json={"outcome": "approve", "reason": " "}, headers={**bank_a, "Accept-Language": "en"}
    )
    assert empty.status_code == 400
    assert "reason" in empty.json()["detail"]
    too_long = client.post(url, json={"outcome": "approve", "reason": "x" * 501}, headers=bank_a)
    assert too_long.status_code == 400
    assert "理由" in too_long.json()["detail"]
    assert (
        client.post(url, json={"outcome": "approve", "reason": "ok"}, headers=bank_b).status_code
        == 404
    )

    done = client.post(
        url, json={"outcome": "decline", "reason": "实地走访未见经营"}, headers=bank_a
    )
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "declined"
    assert "实地走访未见经营" in done.json()["events"][-1]["note"]
    row = session.scalar(select(AuditEntry).where(AuditEntry.action == "decision.override"))
    assert row is not None
    assert row.detail["new_outcome"] == "decline"
    assert client.get("/api/v1/applications?referred=true", headers=bank_a).json()["total"] == 0


def test_the_refer_queue_on_the_banks_page(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
    referred: int,
) -> None:
    login(client, people["bank_officer"])
    page = client.get("/applications")
    assert page.status_code == 200
    assert 'id="refer-queue"' in page.text
    assert f'data-referred="{referred}"' in page.text
    assert "违约概率处于人工审批区间" in page.text  # the engine's reason (pd_grey)


def test_an_override_from_the_application_page(
    session: Session,
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
    referred: int,
) -> None:
    login(client, people["bank_officer"])
    page = client.get(f"/applications/{referred}")
    assert "data-override" in page.text
    assert "违约概率处于人工审批区间" in page.text
    token_ = csrf_of(page.text)
    refused = client.post(
        f"/applications/{referred}/override",
        data={"outcome": "approve", "reason": "", "csrf_token": token_},
        follow_redirects=False,
    )
    assert refused.status_code == 400
    assert "改判须填写书面理由" in refused.text
    done = client.post(
        f"/applications/{referred}/override",
        data={"outcome": "approve", "reason": "实地核实经营正常", "csrf_token": token_},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    after = client.get(f"/applications/{referred}")
    assert 'data-status="approved"' in after.text
    assert "data-override" not in after.text  # a person's approval is not overridden
