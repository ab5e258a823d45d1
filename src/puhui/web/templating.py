"""Jinja2 pages: one environment, one base layout, ``_`` and the switch link in every page.

A page handler calls :func:`render` with its template and context; the layout gets the
request's language, the other language's link, the CSRF token for forms, the CSP nonce for
an inline script, and the signed-in actor when the handler passes one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from puhui.web.i18n import HTML_LANG, LANG_COOKIE, LANGUAGE_NAMES, LOCALES, locale_of, make_gettext

TEMPLATE_DIR = Path(__file__).parent / "templates"

#: Other domains add their own template folders here (searched after ours), e.g. in their
#: ``pages.py``: ``add_template_dir(Path(__file__).parent / "templates")``.
_template_dirs: list[Path] = [TEMPLATE_DIR]
_environment: Environment | None = None


def add_template_dir(directory: Path) -> None:
    global _environment
    if directory not in _template_dirs:
        _template_dirs.append(directory)
        _environment = None


def environment() -> Environment:
    global _environment
    if _environment is None:
        _environment = Environment(
            loader=FileSystemLoader([str(d) for d in _template_dirs]),
            autoescape=select_autoescape(["html", "xml"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
    return _environment


def switch_links(request: Request) -> list[dict[str, str]]:
    """A link to this page in each other language (``?lang=`` keeps the rest of the query)."""
    current = locale_of(request)
    links = []
    for locale in LOCALES:
        if locale == current:
            continue
        query = [(k, v) for k, v in request.query_params.multi_items() if k != LANG_COOKIE]
        query.append((LANG_COOKIE, locale))
        links.append(
            {
                "href": f"{request.url.path}?{urlencode(query)}",
                "label": LANGUAGE_NAMES[locale],
                "lang": HTML_LANG[locale],
            }
        )
    return links


def base_context(request: Request) -> dict[str, Any]:
    from puhui.web.security import csrf_token

    locale = locale_of(request)
    return {
        "request": request,
        "_": make_gettext(locale),
        "locale": locale,
        "html_lang": HTML_LANG[locale],
        "switch_links": switch_links(request),
        "csrf_token": csrf_token(request) if "session" in request.scope else "",
        "csp_nonce": getattr(request.state, "csp_nonce", ""),
        "actor": None,
    }


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    values = base_context(request)
    values.update(context or {})
    html = environment().get_template(name).render(values)
    return HTMLResponse(html, status_code=status_code, headers=headers)
