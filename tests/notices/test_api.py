"""``GET /api/v1/notices`` and the ``/notices`` page: each user sees their own notices only,
paged, addresses masked; the page in Chinese first and in English."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import puhui.notices
from puhui.accounts.models import User
from puhui.web.i18n import LOCALE_DIR, LOCALES
from tests.notices.factories import EMAIL, PHONE, make_notice
from tests.web.conftest import login, token

PROBLEM = "application/problem+json"


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture
def notices(session: Session, people: dict[str, str]) -> dict[str, list[int]]:
    """The shop: 3 in-app notices and an SMS; the bank officer: one in-app notice."""
    users = {u.username: u.id for u in session.scalars(select(User))}
    shop, officer = users["shop"], users["a-officer"]
    made = {
        "shop_inapp": [
            make_notice(
                session, "inapp", user_id=shop, subject="申请进度", body=f"申请已进入第 {i} 步"
            ).id
            for i in range(1, 4)
        ],
        "shop_sms": [
            make_notice(
                session, "sms", user_id=shop, application_id=9, params={"number": "2026-0009"}
            ).id
        ],
        "officer": [make_notice(session, "inapp", user_id=officer, body="有新的抢单").id],
    }
    make_notice(session, "email", address=EMAIL)  # to nobody's account
    return made


def test_a_user_lists_their_own_notices(client: TestClient, notices: dict[str, list[int]]) -> None:
    shop = bearer(token(client, "shop"))
    listed = client.get("/api/v1/notices", headers=shop)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert set(body) == {"items", "page", "size", "total"}
    assert body["total"] == 4
    ids = [item["id"] for item in body["items"]]
    assert ids == sorted(notices["shop_inapp"] + notices["shop_sms"], reverse=True)
    sms = body["items"][0]
    assert (sms["channel"], sms["to"], sms["status"], sms["application_id"]) == (
        "sms",
        "138****5678",
        "pending",
        9,
    )
    assert PHONE not in listed.text
    assert "address" not in sms
    paged = client.get("/api/v1/notices?channel=inapp&size=2&page=2", headers=shop).json()
    assert (paged["total"], [i["id"] for i in paged["items"]]) == (3, [notices["shop_inapp"][0]])
    assert client.get("/api/v1/notices?status=sent", headers=shop).json()["total"] == 0
    # The officer sees only theirs; another bank and the operator have none.
    officer = client.get("/api/v1/notices", headers=bearer(token(client, "a-officer"))).json()
    assert [i["id"] for i in officer["items"]] == notices["officer"]
    assert client.get("/api/v1/notices", headers=bearer(token(client, "ops"))).json()["total"] == 0


def test_a_banks_system_has_no_notices_and_strangers_none(
    client: TestClient, notices: dict[str, list[int]], bank_client: tuple[str, str]
) -> None:
    client_id, secret = bank_client
    issued = client.post(
        "/api/v1/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    system = bearer(issued.json()["access_token"])
    assert client.get("/api/v1/notices", headers=system).json()["total"] == 0
    anonymous = client.get("/api/v1/notices")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == PROBLEM
    bad = client.get("/api/v1/notices?status=lost", headers=bearer(token(client, "shop")))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["where"] == "query.status"


def test_the_page_lists_my_messages_in_chinese_and_english(
    client: TestClient, notices: dict[str, list[int]]
) -> None:
    assert client.get("/notices", follow_redirects=False).status_code == 303  # sign in first
    login(client, "shop")
    home = client.get("/").text
    assert 'href="/notices"' in home
    assert "我的消息" in home
    page = client.get("/notices")
    assert page.status_code == 200
    assert "我的消息" in page.text
    assert "申请已进入第 3 步" in page.text
    assert "有新的抢单" not in page.text  # the officer's
    sms = f'data-notice="{notices["shop_sms"][0]}" data-channel="sms" data-status="pending"'
    assert sms in page.text
    assert "短信" in page.text
    assert "待发送" in page.text
    assert "申请编号 2026-0009" in page.text
    assert PHONE not in page.text
    english = client.get("/notices?lang=en").text
    assert "My messages" in english
    assert "Waiting to be sent" in english
    assert "Application number 2026-0009" in english


def test_an_empty_page_says_so(client: TestClient, people: dict[str, str]) -> None:
    login(client, "gov")
    assert "暂无消息" in client.get("/notices").text


def test_every_notices_string_is_in_both_catalogues() -> None:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    directory = Path(puhui.notices.__file__).parent
    marked = {
        message
        for _f, _l, message, _c, _x in extract_from_dir(directory, method_map)
        if isinstance(message, str)
    }
    assert "My messages" in marked
    for locale in LOCALES:
        with (LOCALE_DIR / locale / "LC_MESSAGES" / "notices.po").open("rb") as handle:
            catalogue = {m.id: m.string for m in read_po(handle) if isinstance(m.id, str)}
        assert not marked - set(catalogue), sorted(marked - set(catalogue))
        if locale == "zh_CN":
            assert all(catalogue[m] for m in marked)
