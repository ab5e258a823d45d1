"""A person in a real browser: ``puhui serve``, Debian's Chromium, sign in, switch, sign out."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.puhui_command import run_puhui

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cli(home: Path, *args: str, env: dict[str, str | None]) -> None:
    done = run_puhui(*args, home=home, env=env)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``puhui serve`` on a free port of 127.0.0.1 with a bank and a bank officer."""
    home = tmp_path_factory.mktemp("serve")
    # The setup commands run in this process; the server is a process of its own.
    settings: dict[str, str | None] = {
        "PUHUI_COOKIE_SECURE": "false",
        "PUHUI_USER_PASSWORD": "secret-pass-1",
        "PUHUI_DATABASE_URL": None,
    }
    _cli(home, "db", "upgrade", env=settings)
    _cli(home, "banks", "create", "--code", "ZJRCB", "--name", "浙江农商银行", env=settings)
    _cli(
        home,
        *("users", "create", "--username", "officer", "--role", "bank_officer", "--bank", "ZJRCB"),
        env=settings,
    )
    _cli(
        home,
        *("users", "create", "--username", "shop", "--role", "enterprise"),
        *("--uscc", "91110000600037341L"),
        env=settings,
    )
    env = {**os.environ, **{k: v for k, v in settings.items() if v is not None}}
    env.pop("PUHUI_DATABASE_URL", None)
    port = _free_port()
    log = (home / "serve.log").open("w")  # a file, never a pipe that could fill up and block
    process = subprocess.Popen(
        [sys.executable, "-m", "puhui.cli", "--home", str(home), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # A deadline rather than a count of tries: on a busy machine (the other test worker,
        # other jobs) starting the server can take far longer than usual.
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"puhui serve exited: {(home / 'serve.log').read_text()}")
                if time.monotonic() > deadline:
                    pytest.fail("puhui serve did not answer /healthz")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium package")
def test_sign_in_see_chinese_home_switch_to_english_sign_out(server: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            # A phone-sized window: the layout must work there.
            page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
            failed: list[str] = []
            page.on("requestfailed", lambda request: failed.append(request.url))
            outside: list[str] = []
            page.on(
                "request",
                lambda request: (
                    outside.append(request.url) if not request.url.startswith(server) else None
                ),
            )
            page.goto(server + "/")
            assert page.url.startswith(server + "/login")
            assert page.locator("h1").inner_text() == "登录"
            page.fill("#username", "officer")
            page.fill("#password", "secret-pass-1")
            page.click("button[type=submit]")
            page.wait_for_url(server + "/")
            assert page.locator("h1").inner_text() == "欢迎，officer"
            assert "浙江农商银行 (ZJRCB)" in page.content()
            assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no side-scroll

            page.click("text=English")
            page.wait_for_url("**/?lang=en")
            assert page.locator("h1").inner_text() == "Welcome, officer"
            assert "Bank officer" in page.content()
            page.goto(server + "/")  # the choice is remembered
            assert page.locator("h1").inner_text() == "Welcome, officer"

            page.click("text=Sign out")
            page.wait_for_url("**/login")
            assert page.locator("h1").inner_text() == "Sign in"
            page.goto(server + "/")
            assert page.url.startswith(server + "/login")
            assert not failed, failed
            assert not outside, outside
        finally:
            browser.close()


#: Where the browser tests leave their screenshots (the test output of a CI run).
SCREENSHOTS = Path(os.environ.get("PUHUI_TEST_OUTPUT", "test-output")) / "screenshots"


def _sign_in(page: Page, server: str, username: str) -> None:
    page.goto(server + "/login")
    page.fill("#username", username)
    page.fill("#password", "secret-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url(server + "/")


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium package")
def test_a_business_applies_and_a_bank_takes_it_through_six_stages(server: str) -> None:
    """The business path (apply, authorise, track) and the bank path (pool, claim, review,
    approve, disburse) in zh-CN, on a phone-sized window, with a screenshot at each step."""
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            shop = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
            page = shop.new_page()
            _sign_in(page, server, "shop")
            page.goto(server + "/apply")
            assert page.locator("h1").inner_text() == "申请贷款"
            page.fill("#amount", "200000")
            page.fill("#term_months", "12")
            page.fill("#purpose", "进货周转")
            page.fill("#contact_phone", "13800138000")
            page.screenshot(path=str(SCREENSHOTS / "1-apply.png"), full_page=True)
            page.click("form[action='/apply'] button[type=submit]")
            assert page.locator("h1").inner_text() == "授权银行查看企业画像"
            page.check("input[name=agree]")
            page.screenshot(path=str(SCREENSHOTS / "2-consent.png"), full_page=True)
            page.click("form[action='/apply/confirm'] button[type=submit]")
            page.wait_for_url("**/applications/*?new=1")
            number = page.locator(".number").first.inner_text().strip()
            assert number.startswith("PH")
            page.screenshot(path=str(SCREENSHOTS / "3-submitted.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390

            bank = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            officer = bank.new_page()
            _sign_in(officer, server, "officer")
            officer.goto(server + "/applications/pool")
            assert officer.locator("h1").inner_text() == "抢单池"
            assert number in officer.content()
            officer.screenshot(path=str(SCREENSHOTS / "4-pool.png"), full_page=True)
            officer.click(f"li:has-text('{number}') form[action$='/claim'] button")
            for step in ("under_review",):
                officer.click(f"form[data-step={step}] button[type=submit]")
            officer.fill("form[data-step=approved] input[name=approved_rate]", "4.35")
            officer.screenshot(path=str(SCREENSHOTS / "5-review.png"), full_page=True)
            officer.click("form[data-step=approved] button[type=submit]")
            officer.click("form[data-step=contract_signed] button[type=submit]")
            officer.click("form[data-step=disbursed] button[type=submit]")
            assert "已放款" in officer.locator("h1").inner_text()

            public = browser.new_context(locale="zh-CN").new_page()
            public.goto(f"{server}/track/{number}")
            body = public.content()
            public.screenshot(path=str(SCREENSHOTS / "6-track.png"), full_page=True)
            assert "已放款" in body
            assert "13800138000" not in body  # no phone, no purpose on the public page
            assert "进货周转" not in body
        finally:
            browser.close()
