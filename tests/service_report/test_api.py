"""The service report over HTTP: JSON and the Excel workbook, the page with its charts, and
that a bank's administrator only ever gets its own bank's detail."""

from __future__ import annotations

import json
import re
from io import BytesIO
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests.accounts.conftest import fast_hashing  # noqa: F401  (autouse here too)
from tests.accounts.factories import make_user
from tests.service_report.conftest import Known
from tests.web.conftest import (  # noqa: F401  (fixtures)
    app,
    client,
    login,
    token,
)

QUERY = "start=2026-06-01&end=2026-06-30"


def bearer(client: TestClient, username: str) -> dict[str, str]:  # noqa: F811
    return {"Authorization": f"Bearer {token(client, username)}"}


def _people(session: Session) -> dict[str, str]:
    return {
        role: make_user(session, role, bank=bank, username=name).username
        for role, bank, name in (
            ("government", None, "gov"),
            ("bank_admin", "BANKA", "a-admin"),
            ("bank_officer", "BANKA", "a-officer"),
        )
    }


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    return body


def test_json_for_government_and_for_a_bank(
    client: TestClient,  # noqa: F811
    session: Session,
    known: Known,
) -> None:
    people = _people(session)
    everyone = client.get(f"/api/v1/reports/service?{QUERY}", headers=bearer(client, "gov"))
    assert everyone.status_code == 200, everyone.text
    body = everyone.json()
    assert [b["bank"] for b in body["banks"]] == ["BANKB", "BANKA", "BANKC"]
    a = body["banks"][1]
    assert (a["rank"], a["received"], a["disbursed_amount"]) == (2, 10, "250000.10")
    assert a["stages"]["acceptance"] == {"count": 10, "median_hours": 5.5, "p90_hours": 9.1}
    assert body["region"]["approval_rate"] == 0.875

    own = client.get(
        f"/api/v1/reports/service?{QUERY}", headers=bearer(client, people["bank_admin"])
    ).json()
    assert [b["bank"] for b in own["banks"]] == ["BANKA"]
    assert {b["bank"] for b in own["breaches"]} == {"BANKA"}
    assert own["bank"] == "BANKA"
    assert own["ranked_banks"] == 2
    assert "BANKB" not in json.dumps(own)
    assert "乙银行" not in json.dumps(own, ensure_ascii=False)

    _problem(
        client.get(
            f"/api/v1/reports/service?{QUERY}", headers=bearer(client, people["bank_officer"])
        ),
        403,
    )
    _problem(client.get(f"/api/v1/reports/service?{QUERY}"), 401)
    bad = _problem(
        client.get("/api/v1/reports/service?start=2026-06-31&end=x", headers=bearer(client, "gov")),
        422,
    )
    assert {e["where"] for e in bad["errors"]} == {"query.start", "query.end"}
    backwards = _problem(
        client.get(
            "/api/v1/reports/service?start=2026-06-30&end=2026-06-01",
            headers={**bearer(client, "gov"), "Accept-Language": "en"},
        ),
        400,
    )
    assert "before the start" in backwards["detail"]


def test_the_workbook_over_http(
    client: TestClient,  # noqa: F811
    session: Session,
    known: Known,
) -> None:
    people = _people(session)
    done = client.get(f"/api/v1/reports/service?{QUERY}&format=xlsx", headers=bearer(client, "gov"))
    assert done.status_code == 200
    assert done.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "service-report-2026-06-01-2026-06-30.xlsx" in done.headers["content-disposition"]
    book = load_workbook(BytesIO(done.content))
    codes = [row[1] for row in book["排名"].iter_rows(min_row=2, values_only=True)]
    assert codes == ["BANKB", "BANKA", "BANKC"]

    own = client.get(
        f"/api/v1/reports/service?{QUERY}&format=xlsx",
        headers=bearer(client, people["bank_admin"]),
    )
    book = load_workbook(BytesIO(own.content))
    assert [row[1] for row in book["排名"].iter_rows(min_row=2, values_only=True)] == ["BANKA"]
    assert {row[0] for row in book["超时情况"].iter_rows(min_row=2, values_only=True)} == {"BANKA"}
    assert "-BANKA.xlsx" in own.headers["content-disposition"]


def _charts(html: str) -> dict[str, Any]:
    found = re.findall(r'<script type="application/json" id="chart-(\w+)">(.*?)</script>', html)
    return {key: json.loads(value) for key, value in found}


def test_the_page_for_government_and_for_a_bank(
    client: TestClient,  # noqa: F811
    session: Session,
    known: Known,
) -> None:
    people = _people(session)
    login(client, "gov")
    page = client.get(f"/reports/service?{QUERY}")
    assert page.status_code == 200
    assert "银行服务考核通报" in page.text
    assert re.search(r'<tr data-bank="BANKB">\s*<td>1</td><td>乙银行</td><td>4</td>', page.text)
    assert (
        "/api/v1/reports/service?start=2026-06-01&amp;end=2026-06-30&amp;format=xlsx" in page.text
    )
    charts = _charts(page.text)
    assert set(charts) == {"median", "p90", "shares"}
    assert charts["median"]["data"][0]["x"] == ["乙银行", "甲银行", "丙银行"]
    assert charts["median"]["data"][0]["y"][:2] == [5.0, 5.5]
    assert '<script nonce="' in page.text
    assert "/static/vendor/plotly.min.js" in page.text

    english = client.get(f"/reports/service?{QUERY}&lang=en")
    assert "Bank service report" in english.text
    wrong = client.get("/reports/service?start=yesterday&lang=zh_CN")
    assert wrong.status_code == 200
    assert "请按 YYYY-MM-DD 格式填写日期" in wrong.text

    client.cookies.clear()
    login(client, people["bank_admin"])
    own = client.get(f"/reports/service?{QUERY}")
    assert own.status_code == 200
    assert 'data-bank="BANKA"' in own.text
    assert 'data-bank="region"' in own.text
    assert "乙银行" not in own.text
    assert "BANKB" not in own.text
    mine = _charts(own.text)
    assert [trace["name"] for trace in mine["median"]["data"]] == ["甲银行", "区域中位数"]
    assert mine["median"]["data"][1]["y"][0] == 5.25

    client.cookies.clear()
    login(client, people["bank_officer"])
    assert client.get(f"/reports/service?{QUERY}").status_code == 403
