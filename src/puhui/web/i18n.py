"""Languages of pages and API messages: Chinese (zh_CN) first, English beside it.

Source strings are English and are wrapped in ``_()`` (in Python: :func:`translate` or the
request's :func:`translator`; in templates: ``{{ _("…") }}``). The translations live in
Babel catalogues ``locale/<locale>/LC_MESSAGES/messages.po``; only the ``.po`` files are kept
in git, and they are compiled in memory when the app starts. See docs/web.md for the workflow.

The language of a request is, in order: ``?lang=``, the ``lang`` cookie, ``Accept-Language``,
then Chinese.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.requests import HTTPConnection

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "zh_CN"
LOCALES = ("zh_CN", "en")
#: The name of the cookie (and query parameter) that holds the chosen language.
LANG_COOKIE = "lang"
#: What a page shows for each language in the switch link, and the HTML ``lang`` attribute.
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}

Gettext = Callable[..., str]


def normalize_locale(value: str | None) -> str | None:
    """``zh``, ``zh-CN``, ``zh_Hans`` … → ``zh_CN``; ``en``, ``en-GB`` … → ``en``; else None."""
    if not value:
        return None
    tag = value.strip().replace("-", "_").lower()
    if tag.startswith("zh"):
        return "zh_CN"
    if tag.startswith("en"):
        return "en"
    return None


def _accept_language(header: str) -> str | None:
    """The best supported language of an ``Accept-Language`` header (by q value, then order)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        locale = normalize_locale(tag)
        if locale is not None and quality > 0:
            ranked.append((-quality, index, locale))
    return min(ranked)[2] if ranked else None


def negotiate(connection: HTTPConnection) -> str:
    """The locale of a request: ``?lang=``, the cookie, ``Accept-Language``, else zh_CN."""
    for candidate in (
        connection.query_params.get(LANG_COOKIE),
        connection.cookies.get(LANG_COOKIE),
    ):
        locale = normalize_locale(candidate)
        if locale is not None:
            return locale
    header = connection.headers.get("accept-language")
    if header:
        locale = _accept_language(header)
        if locale is not None:
            return locale
    return DEFAULT_LOCALE


@cache
def catalogues() -> dict[str, Translations]:
    """Every ``.po`` catalogue, compiled in memory once (no ``.mo`` files in git).

    ``messages.po`` is the main catalogue; a domain may keep its own ``<domain>.po`` beside
    it, merged in after it (a message in both keeps the domain's translation).
    """
    loaded: dict[str, Translations] = {}
    for locale in LOCALES:
        folder = LOCALE_DIR / locale / "LC_MESSAGES"
        extra = sorted(path for path in folder.glob("*.po") if path.name != "messages.po")
        merged: Translations | None = None
        for po_file in [folder / "messages.po", *extra]:
            with po_file.open("rb") as handle:
                catalog = read_po(handle, locale=locale)
            buffer = BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            translations = Translations(fp=buffer)
            merged = translations if merged is None else merged.merge(translations)
        assert merged is not None
        loaded[locale] = merged
    return loaded


def N_(message: str) -> str:  # noqa: N802 - the conventional name extractors look for
    """Mark an English source string for extraction, to be translated later (``_(value)``)."""
    return message


def translate(locale: str, message: str, **values: Any) -> str:
    """``message`` in ``locale``, with ``%(name)s`` placeholders filled from ``values``."""
    translations = catalogues().get(locale)
    text = translations.gettext(message) if translations is not None else message
    return text % values if values else text


def make_gettext(locale: str) -> Gettext:
    """A ``_`` bound to one locale, for templates and messages of one request."""

    def _(message: str, **values: Any) -> str:
        return translate(locale, message, **values)

    return _


def locale_of(connection: HTTPConnection) -> str:
    """The request's locale, as chosen once by the app's middleware (or negotiated now)."""
    locale = getattr(connection.state, "locale", None)
    return locale if isinstance(locale, str) else negotiate(connection)


def translator(connection: HTTPConnection) -> Gettext:
    """``_`` for the language of this request: ``_ = translator(request)``."""
    return make_gettext(locale_of(connection))


def both(message: str, **values: Any) -> tuple[str, str]:
    """The Chinese and English forms of a message (for CLI lines and bilingual logs)."""
    return translate("zh_CN", message, **values), translate("en", message, **values)
