"""The catalogues: every string the code marks is translated, placeholders survive."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from starlette.requests import Request

import puhui
from puhui.web.i18n import LOCALE_DIR, LOCALES, both, catalogues, negotiate, normalize_locale

SOURCE = Path(puhui.__file__).parent
WEB = SOURCE / "web"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _catalogue(locale: str) -> dict[str, str]:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return {m.id: m.string for m in read_po(handle) if m.id and isinstance(m.id, str)}


def _marked_strings() -> set[str]:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    found = set()
    for directory in (WEB, SOURCE / "accounts"):
        for _file, _line, message, _comments, _context in extract_from_dir(directory, method_map):
            if isinstance(message, str):
                found.add(message)
    return found


def test_every_marked_string_is_in_both_catalogues() -> None:
    marked = _marked_strings()
    assert "Sign in" in marked
    assert "Not found" in marked
    assert "Platform operator" in marked
    for locale in LOCALES:
        missing = marked - set(_catalogue(locale))
        assert not missing, f"run the catalogue update of docs/web.md: {sorted(missing)}"


def test_chinese_translates_everything_and_keeps_placeholders() -> None:
    chinese = _catalogue("zh_CN")
    assert set(chinese) == set(_catalogue("en"))
    for source, text in chinese.items():
        assert text, f"no Chinese for {source!r}"
        assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(text)), source


def test_catalogues_compile_in_memory() -> None:
    zh = catalogues()["zh_CN"]
    assert zh.gettext("Sign in") == "登录"
    assert catalogues()["en"].gettext("Sign in") == "Sign in"
    assert both("Too many failed sign-ins. Try again in %(seconds)s seconds.", seconds=3) == (
        "登录失败次数过多，请 3 秒后再试。",
        "Too many failed sign-ins. Try again in 3 seconds.",
    )
    assert not list(LOCALE_DIR.rglob("*.mo"))  # only .po files are kept


@pytest.mark.parametrize(
    ("value", "expected"),
    [("zh", "zh_CN"), ("zh-CN", "zh_CN"), ("zh_Hans", "zh_CN"), ("EN-gb", "en"), ("fr", None)],
)
def test_language_tags(value: str, expected: str | None) -> None:
    assert normalize_locale(value) == expected


def _request(query: str = "", cookie: str = "", accept: str = "") -> Request:
    headers = []
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    if accept:
        headers.append((b"accept-language", accept.encode()))
    return Request({"type": "http", "query_string": query.encode(), "headers": headers})


def test_query_then_cookie_then_accept_language_then_chinese() -> None:
    assert negotiate(_request()) == "zh_CN"
    assert negotiate(_request(accept="en-US,en;q=0.9")) == "en"
    assert negotiate(_request(accept="en;q=0.2, zh;q=0.8")) == "zh_CN"
    assert negotiate(_request(accept="de, *;q=0.1")) == "zh_CN"
    assert negotiate(_request(cookie="lang=en", accept="zh")) == "en"
    assert negotiate(_request(query="lang=zh_CN", cookie="lang=en")) == "zh_CN"
    assert negotiate(_request(query="lang=xx", cookie="lang=en")) == "en"
