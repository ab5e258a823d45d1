"""The government lists' API as government and banks call it: create, upload (multipart),
push, read members, track; problem details for every refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.accounts.conftest import fast_hashing  # noqa: F401  (autouse here too)
from tests.govlists.factories import make_profile, uscc, xlsx
from tests.web.conftest import (  # noqa: F401  (fixtures)
    app,
    bank_client,
    client,
    people,
    token,
)


def bearer(client: TestClient, username: str) -> dict[str, str]:  # noqa: F811
    return {"Authorization": f"Bearer {token(client, username)}"}


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def _create(client: TestClient, headers: dict[str, str], code: str = "KJ2026") -> None:  # noqa: F811
    done = client.post(
        "/api/v1/govlists",
        json={"code": code, "name": "科技型企业名单", "kind": "tech"},
        headers=headers,
    )
    assert done.status_code == 201, done.text


def test_government_creates_uploads_and_pushes(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
    bank_client: tuple[str, str],  # noqa: F811
) -> None:
    gov = bearer(client, people["government"])
    _create(client, gov)
    content = f"uscc,note\n{uscc(1)},甲\nBAD,乙\n{uscc(2)},丙\n{uscc(1)},丁\n".encode()
    done = client.post(
        "/api/v1/govlists/KJ2026/members",
        files={"file": ("list.csv", content, "text/csv")},
        headers={**gov, "Accept-Language": "en"},
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["rows"], body["added"], body["already"], body["refused"]) == (4, 2, 0, 2)
    assert [(p["row"], p["code"]) for p in body["problems"]] == [(2, "length"), (4, "duplicate")]
    assert body["problems"][0]["reason"].startswith("a unified social credit code has 18")

    # Not yet pushed: bank A does not see it.
    officer = bearer(client, people["bank_officer"])
    assert_problem(client.get("/api/v1/govlists/KJ2026", headers=officer), 404)
    assert client.get("/api/v1/govlists", headers=officer).json()["total"] == 0

    pushed = client.post("/api/v1/govlists/KJ2026/push", json={"banks": ["BANKA"]}, headers=gov)
    assert pushed.status_code == 200, pushed.text
    assert [p["bank"] for p in pushed.json()] == ["BANKA"]

    seen = client.get("/api/v1/govlists/KJ2026", headers=officer).json()
    assert (seen["status"], seen["members"], seen["banks"]) == ("pushed", 2, ["BANKA"])
    members = client.get("/api/v1/govlists/KJ2026/members?size=1", headers=officer).json()
    assert (members["total"], members["size"]) == (2, 1)
    assert members["items"][0]["uscc"] == uscc(1)
    assert members["items"][0]["pre_credit_limit"] is None

    # The bank's system sees it too; another bank and a business do not.
    system = client.post(
        "/api/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": bank_client[0],
            "client_secret": bank_client[1],
        },
    ).json()["access_token"]
    listed = client.get("/api/v1/govlists", headers={"Authorization": f"Bearer {system}"})
    assert [item["code"] for item in listed.json()["items"]] == ["KJ2026"]
    assert_problem(
        client.get("/api/v1/govlists/KJ2026/members", headers=bearer(client, people["other_bank"])),
        404,
    )
    assert (
        client.get("/api/v1/govlists", headers=bearer(client, people["enterprise"])).json()["total"]
        == 0
    )

    tracked = client.get("/api/v1/govlists/KJ2026/tracking", headers=gov).json()
    assert tracked["members"] == 2
    assert tracked["total"]["applications"] == 0
    assert tracked["total"]["disbursed_amount"] == "0.00"


def test_refusals_are_problems(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
) -> None:
    gov = bearer(client, people["government"])
    assert_problem(client.get("/api/v1/govlists"), 401)
    admin = bearer(client, people["bank_admin"])
    assert_problem(
        client.post(
            "/api/v1/govlists", json={"code": "X", "name": "x", "kind": "tech"}, headers=admin
        ),
        403,
    )
    invalid = assert_problem(
        client.post(
            "/api/v1/govlists", json={"code": "X", "name": "x", "kind": "vip"}, headers=gov
        ),
        422,
    )
    assert invalid["errors"][0]["where"] == "body.kind"
    _create(client, gov, "DUP")
    assert_problem(
        client.post(
            "/api/v1/govlists", json={"code": "DUP", "name": "x", "kind": "tech"}, headers=gov
        ),
        409,
    )
    assert_problem(client.get("/api/v1/govlists/NOPE", headers=gov), 404)
    no_column = assert_problem(
        client.post(
            "/api/v1/govlists/DUP/members",
            files={"file": ("a.csv", b"name\nx\n", "text/csv")},
            headers=gov,
        ),
        422,
    )
    assert "uscc" in no_column["detail"]
    assert_problem(
        client.post("/api/v1/govlists/DUP/push", json={"banks": ["NOBANK"]}, headers=gov), 404
    )
    # A filter by tier needs the warehouse, which this app has not got: 503, not a 500.
    assert_problem(
        client.post("/api/v1/govlists/DUP/members/define", json={"tiers": ["growth"]}, headers=gov),
        503,
    )
    assert_problem(
        client.post("/api/v1/govlists/DUP/members/define", json={"districts": ["33"]}, headers=gov),
        422,
    )


def test_xlsx_upload_define_remove_and_archive(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
    session: Session,
) -> None:
    gov = bearer(client, people["government"])
    _create(client, gov, "ZD")
    content = xlsx([["统一社会信用代码", "备注"], [uscc(1), "x"], [uscc(2), None]])
    done = client.post(
        "/api/v1/govlists/ZD/members",
        files={"file": ("名单.xlsx", content, "application/octet-stream")},
        headers=gov,
    )
    assert done.json()["added"] == 2
    make_profile(session, uscc(3), district="331003")
    defined = client.post(
        "/api/v1/govlists/ZD/members/define", json={"districts": ["331003"]}, headers=gov
    )
    assert defined.json() == {"code": "ZD", "matched": 1, "added": 1, "already": 0}
    assert client.delete(f"/api/v1/govlists/ZD/members/{uscc(2)}", headers=gov).status_code == 204
    assert client.get("/api/v1/govlists/ZD", headers=gov).json()["members"] == 2
    one = client.post("/api/v1/govlists/ZD/members/one", json={"uscc": uscc(4)}, headers=gov)
    assert one.json()["added"] == 1
    archived = client.post("/api/v1/govlists/ZD/archive", headers=gov)
    assert archived.json()["status"] == "archived"
    assert_problem(
        client.post("/api/v1/govlists/ZD/members/one", json={"uscc": uscc(5)}, headers=gov), 409
    )


def test_the_white_list_names_the_lists(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
    session: Session,
    tmp_path: Path,
) -> None:
    from tests.market.factories import make_product, make_run, region_row

    product = make_product(session, "BANKA")
    make_run(session, tmp_path, region_row(uscc(1)), region_row(uscc(2)))
    gov = bearer(client, people["government"])
    _create(client, gov, "FLAG")
    client.post(
        "/api/v1/govlists/FLAG/members",
        files={"file": ("a.csv", f"uscc\n{uscc(2)}\n".encode(), "text/csv")},
        headers=gov,
    )
    client.post("/api/v1/govlists/FLAG/push", json={"banks": ["BANKA"]}, headers=gov)
    white = client.get(
        f"/api/v1/products/{product.id}/matches", headers=bearer(client, people["bank_officer"])
    ).json()
    assert {m["uscc"]: m["gov_lists"] for m in white["items"]} == {uscc(1): [], uscc(2): ["FLAG"]}
