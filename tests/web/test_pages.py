"""Pages as a person meets them: sign in and out, CSRF, cookies, languages, errors, assets."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from puhui.settings import Settings
from puhui.web.app import plotly_js
from tests.web.conftest import csrf_of, login, make_app


def test_anonymous_visitors_are_sent_to_the_login_page(client: TestClient) -> None:
    done = client.get("/", follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/login?next=%2F"
    page = client.get("/login")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert "登录" in page.text
    assert "用户名" in page.text
    assert "密码" in page.text
    assert 'name="viewport"' in page.text  # readable on a phone


def test_sign_in_shows_who_you_are_and_your_bank(
    client: TestClient, people: dict[str, str]
) -> None:
    login(client, people["bank_officer"])
    home = client.get("/")
    assert home.status_code == 200
    assert "欢迎，a-officer" in home.text
    assert "银行客户经理" in home.text  # the role, in Chinese
    assert "甲银行 (BANKA)" in home.text
    assert "您只能看到本行的数据" in home.text
    assert "退出" in home.text


def test_each_role_has_a_home_page(client: TestClient, people: dict[str, str]) -> None:
    labels = {
        "operator": "平台运营方",
        "bank_admin": "银行管理员",
        "enterprise": "企业",
        "government": "政府部门",
    }
    for role, label in labels.items():
        client.cookies.clear()
        login(client, people[role])
        home = client.get("/")
        assert f'data-role="{role}">{label}<' in home.text
        assert ("91110000600037341L" in home.text) == (role == "enterprise")


def test_wrong_password_is_refused_without_saying_which_part(
    client: TestClient, people: dict[str, str]
) -> None:
    page = client.get("/login")
    for username in (people["operator"], "nobody"):
        done = client.post(
            "/login",
            data={"username": username, "password": "wrong-pass", "csrf_token": csrf_of(page.text)},
        )
        assert done.status_code == 401
        assert "用户名或密码错误" in done.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_logout_ends_the_session_on_the_server(client: TestClient, people: dict[str, str]) -> None:
    login(client, people["operator"])
    home = client.get("/")
    stolen = client.cookies.get("puhui_session")
    done = client.post("/logout", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303
    # The cookie copied before logging out opens nothing either.
    client.cookies.set("puhui_session", stolen or "")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_forms_without_the_csrf_token_are_refused(
    client: TestClient, people: dict[str, str]
) -> None:
    client.get("/login")
    done = client.post("/login", data={"username": people["operator"], "password": "x" * 10})
    assert done.status_code == 403
    assert "表单已过期" in done.text
    login(client, people["operator"])
    assert client.post("/logout", follow_redirects=False).status_code == 403
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert client.get("/").status_code == 200  # still signed in
    home = client.get("/")
    header = {"X-CSRF-Token": csrf_of(home.text)}
    assert client.post("/logout", headers=header, follow_redirects=False).status_code == 303


def test_session_cookie_is_signed_httponly_lax_and_secure_by_default(
    session: Session, db_engine: Engine, tmp_path: Path
) -> None:
    assert Settings(home=tmp_path).cookie_secure is True
    secure_app = make_app(session, db_engine, tmp_path, cookie_secure=True)
    with TestClient(secure_app, base_url="https://testserver") as https:
        cookie = https.get("/login").headers["set-cookie"].lower()
    assert cookie.startswith("puhui_session=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" in cookie
    plain_app = make_app(session, db_engine, tmp_path)
    with TestClient(plain_app) as http:
        cookie = http.get("/login").headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "secure" not in cookie


def test_a_tampered_session_cookie_is_ignored(client: TestClient, people: dict[str, str]) -> None:
    login(client, people["operator"])
    value = client.cookies.get("puhui_session") or ""
    client.cookies.clear()
    client.cookies.set("puhui_session", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert client.get("/", follow_redirects=False).status_code == 303


def test_language_switch_zh_en_and_back(client: TestClient, people: dict[str, str]) -> None:
    login(client, people["operator"])
    home = client.get("/")
    assert 'href="/?lang=en"' in home.text
    assert ">English<" in home.text
    english = client.get("/?lang=en")
    assert '<html lang="en">' in english.text
    assert "Welcome, ops" in english.text
    assert "Platform operator" in english.text
    assert client.cookies.get("lang") == "en"
    assert "Sign out" in client.get("/").text  # remembered by the cookie
    assert ">中文<" in client.get("/").text
    chinese = client.get("/?lang=zh_CN")
    assert "欢迎，ops" in chinese.text
    assert client.cookies.get("lang") == "zh_CN"


def test_accept_language_chooses_when_nothing_else_does(client: TestClient) -> None:
    page = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"})
    assert "Username" in page.text
    page = client.get("/login", headers={"Accept-Language": "fr, zh-Hans;q=0.8"})
    assert "用户名" in page.text


def test_next_goes_only_to_this_site(client: TestClient, people: dict[str, str]) -> None:
    page = client.get("/login?next=https://evil.example/x")
    assert 'name="next" value="/"' in page.text
    data = {
        "username": people["operator"],
        "password": "correct horse battery",
        "csrf_token": csrf_of(page.text),
        "next": "//evil.example/",
    }
    done = client.post("/login", data=data, follow_redirects=False)
    assert done.headers["location"] == "/"


def test_error_pages_in_both_languages(client: TestClient, app: FastAPI) -> None:
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"]
    assert "未找到" in missing.text
    assert "返回首页" in missing.text
    assert "Not found" in client.get("/no/such/page?lang=en").text

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("database password is hunter2")

    failed = client.get("/boom")
    assert failed.status_code == 500
    assert "Internal server error" in failed.text  # the lang cookie is still en
    assert "hunter2" not in failed.text
    assert "Traceback" not in failed.text
    assert "服务器内部错误" in client.get("/boom?lang=zh_CN").text


def test_plotly_and_styles_are_served_by_the_app(client: TestClient) -> None:
    plotly = client.get("/static/vendor/plotly.min.js")
    assert plotly.status_code == 200
    assert plotly.headers["content-type"].startswith("text/javascript")
    assert len(plotly.content) == plotly_js().stat().st_size > 1_000_000
    css = client.get("/static/puhui.css")
    assert css.status_code == 200
    assert "@media" in css.text
    assert client.get("/static/../app.py").status_code == 404


def test_pages_load_nothing_from_elsewhere(client: TestClient, people: dict[str, str]) -> None:
    login(client, people["bank_admin"])
    pages = [client.get(p).text for p in ("/", "/login", "/api/v1/docs", "/nowhere")]
    pages.append(client.get("/?lang=en").text)
    css = client.get("/static/puhui.css").text
    for text in [*pages, css]:
        for url in re.findall(r'(?:src|href|action)="([^"]*)"', text) + re.findall(
            r"url\(([^)]*)\)", text
        ):
            assert url.startswith("/"), url
            assert not url.startswith("//"), url
        assert "@import" not in text
        assert "fonts.googleapis" not in text


def test_security_headers(client: TestClient) -> None:
    headers = client.get("/login").headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"


def test_repeated_failed_sign_ins_are_slowed_down(
    session: Session, db_engine: Engine, tmp_path: Path, people: dict[str, str]
) -> None:
    app = make_app(session, db_engine, tmp_path, login_attempts=3)
    with TestClient(app) as client:
        csrf = csrf_of(client.get("/login").text)
        data = {"username": people["operator"], "password": "wrong-pass", "csrf_token": csrf}
        codes = [client.post("/login", data=data).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        data["password"] = "correct horse battery"
        blocked = client.post("/login", data=data)
        assert blocked.status_code == 429
        assert "Retry-After" in blocked.headers
        assert "登录失败次数过多" in blocked.text
