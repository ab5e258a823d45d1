"""The profile page: in Chinese and English, every section, charts drawn by the app's own
plotly.js under the CSP nonce, and the same consent rule (and audit) as the API."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from puhui.accounts.service import audit_entries
from puhui.features.registry import features
from puhui.features.service import publish_profiles
from puhui.identifiers import is_valid_person_id
from puhui.ingest.warehouse import connect
from tests.accounts.factories import USCCS
from tests.conftest import WAREHOUSE_KEY
from tests.consent.factories import make_consent
from tests.features.factories import make_profile
from tests.web.conftest import login

BUSINESS = USCCS[0]
CLEAR_ID = re.compile(r"(?<![0-9A-Z])[0-9]{17}[0-9X](?![0-9A-Z])")


def charts(html: str) -> dict[str, dict[str, object]]:
    found = re.findall(r'<script type="application/json" id="chart-(\w+)">(.*?)</script>', html)
    return {name: json.loads(body) for name, body in found}


def test_the_business_sees_its_profile_in_chinese_and_english(
    client: TestClient, session: Session, people: dict[str, str]
) -> None:
    make_profile(session, BUSINESS, "台州测试贸易有限公司")
    login(client, "shop")
    page = client.get("/profiles")  # a business goes to its own
    assert page.status_code == 200
    assert str(page.url).endswith(f"/profiles/{BUSINESS}")
    html = page.text
    assert '<html lang="zh-CN">' in html
    for heading in (
        "登记信息",
        "关联关系",
        "经营情况（24 个月）",
        "资产与抵押",
        "风险",
        "标签",
        "特征",
    ):
        assert heading in html, heading
    assert "3310**********1234" in html  # the masked id, as stored
    described = {f.name: f for _, f in features()}["revenue_avg_3m"]
    assert described.zh in html
    assert described.en not in html
    drawn = charts(html)
    assert set(drawn) == {"relations", "money", "headcount", "utilities"}
    assert len(drawn["money"]["data"][0]["x"]) == 24  # type: ignore[index]
    nonce = re.search(r'<script nonce="([^"]+)">', html)
    assert nonce
    assert f"'nonce-{nonce.group(1)}'" in page.headers["content-security-policy"]
    assert '<script src="/static/vendor/plotly.min.js"></script>' in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing from another host
    english = client.get(f"/profiles/{BUSINESS}?lang=en").text
    assert '<html lang="en">' in english
    for heading in ("Registration", "Relations", "Operations (24 months)", "Assets and mortgages"):
        assert heading in english, heading
    assert described.en in english


def test_a_bank_needs_consent_and_every_read_is_audited(
    client: TestClient, session: Session, people: dict[str, str]
) -> None:
    make_profile(session, BUSINESS, "台州测试贸易有限公司")
    login(client, "a-officer")
    refused = client.get(f"/profiles/{BUSINESS}")
    assert refused.status_code == 404  # a refusal looks like a missing profile
    assert "台州测试贸易有限公司" not in refused.text
    assert "授权" in refused.text
    make_consent(session, BUSINESS, "BANKA")
    allowed = client.get(f"/profiles/{BUSINESS}")
    assert allowed.status_code == 200
    assert "台州测试贸易有限公司" in allowed.text
    outcomes = [e.detail["outcome"] for e in audit_entries(session, "profile", BUSINESS)]
    assert outcomes == ["refused", "allowed"]


def test_lookup_form_and_login_redirect(
    client: TestClient, session: Session, people: dict[str, str]
) -> None:
    first = client.get(f"/profiles/{BUSINESS}", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"].startswith("/login")
    login(client, "gov")
    form = client.get("/profiles")
    assert form.status_code == 200
    assert 'name="uscc"' in form.text
    missing = client.get("/profiles?uscc=91330000ma2a00000x")
    assert missing.status_code == 404  # government may read, but there is none


def test_home_links_to_profiles_and_consents(client: TestClient, people: dict[str, str]) -> None:
    login(client, "shop")
    home = client.get("/").text
    assert 'href="/profiles"' in home
    assert 'href="/consents"' in home


# ---------------------------------------------------------------- a published region


@pytest.fixture(scope="module")
def warehouse(linked_region: tuple[Path, Path]) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(linked_region[1], WAREHOUSE_KEY)
    yield con
    con.close()


def test_published_profiles_render_with_every_section(
    warehouse: duckdb.DuckDBPyConnection,
    client: TestClient,
    session: Session,
    people: dict[str, str],
) -> None:
    publish_profiles(warehouse, session, date(2026, 1, 15))
    rich = warehouse.sql(
        """
        SELECT g.uscc FROM feed_registrations g
        JOIN links l ON l.uscc = g.uscc AND l.feed = 'court'
        JOIN feed_shareholders s ON s.uscc = g.uscc
        WHERE g.established < DATE '2023-01-01' ORDER BY g.uscc LIMIT 1
        """
    ).fetchall()[0][0]
    make_consent(session, rich, "BANKA")
    login(client, "a-officer")
    page = client.get(f"/profiles/{rich}")
    assert page.status_code == 200, page.text[:500]
    html = page.text
    assert rich in html
    assert "<td>" in html.split('id="relations"')[1].split("</section>")[0]
    leaked = [m for m in CLEAR_ID.findall(html) if is_valid_person_id(m)]
    assert leaked == []
    assert charts(html)["relations"]["data"]
