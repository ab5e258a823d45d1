"""The web app factory: pages, the ``/api/v1`` API, static files, errors, languages, sessions.

``create_app(settings)`` builds one app; ``puhui serve`` runs :func:`app_from_env` with
uvicorn. A new domain adds its routers in :func:`api_routers` / :func:`page_routers` below:
API routers are mounted under ``/api/v1``; page routers get the CSRF check.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.datastructures import MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from puhui.db import make_engine, session_factory
from puhui.settings import Settings
from puhui.web.i18n import LANG_COOKIE, N_, catalogues, negotiate, normalize_locale
from puhui.web.problems import Problem, install_handlers
from puhui.web.security import SESSION_COOKIE, LoginLimiter, check_csrf
from puhui.web.templating import render

API_PREFIX = "/api/v1"
STATIC_DIR = Path(__file__).parent / "static"
log = logging.getLogger("puhui.web")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("puhui")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0"


__version__ = _version()


def api_routers() -> list[APIRouter]:
    """Every domain's API router, mounted under ``/api/v1``. Add yours here."""
    from puhui.accounts.api import router as accounts
    from puhui.applications.api import router as applications
    from puhui.consent.api import router as consents
    from puhui.decisions.api import router as decisions
    from puhui.features.api import router as profiles
    from puhui.govlists.api import router as govlists
    from puhui.market.api import router as market
    from puhui.notices.api import router as notices
    from puhui.service_report.api import router as service_report

    return [
        accounts,
        consents,
        profiles,
        market,
        notices,
        applications,
        govlists,
        service_report,
        decisions,
    ]


def page_routers() -> list[APIRouter]:
    """Every domain's page router (``include_in_schema=False``). Add yours here."""
    from puhui.applications.pages import router as application_pages
    from puhui.consent.pages import router as consent_pages
    from puhui.features.pages import router as profile_pages
    from puhui.govlists.pages import router as govlist_pages
    from puhui.market.pages import router as market_pages
    from puhui.notices.pages import router as notice_pages
    from puhui.service_report.pages import router as service_report_pages
    from puhui.web.pages import router as shell

    return [
        shell,
        consent_pages,
        profile_pages,
        market_pages,
        notice_pages,
        application_pages,
        govlist_pages,
        service_report_pages,
    ]


def plotly_js() -> Path:
    """The plotly.js that the installed plotly wheel ships: charts never load from a CDN."""
    return Path(str(files("plotly") / "package_data" / "plotly.min.js"))


class RequestContext:
    """Per request: the language (kept in the ``lang`` cookie when ``?lang=`` chose it), a CSP
    nonce, and the security headers of every response."""

    def __init__(self, app: ASGIApp, secure_cookies: bool) -> None:
        self.app = app
        self.secure_cookies = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.requests import HTTPConnection

        connection = HTTPConnection(scope)
        locale = negotiate(connection)
        chosen = normalize_locale(connection.query_params.get(LANG_COOKIE))
        remember = chosen is not None and chosen != connection.cookies.get(LANG_COOKIE)
        nonce = secrets.token_urlsafe(16)
        state = scope.setdefault("state", {})
        state["locale"] = locale
        state["csp_nonce"] = nonce
        is_api = scope["path"].startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault(
                    "Content-Security-Policy",
                    "default-src 'self'; img-src 'self' data:; "
                    f"script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
                    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
                )
                if not is_api:
                    headers.add_vary_header("Cookie")
                if remember:
                    flags = "; Secure" if self.secure_cookies else ""
                    headers.append(
                        "Set-Cookie",
                        f"{LANG_COOKIE}={chosen}; Path=/; Max-Age=31536000; SameSite=Lax{flags}",
                    )
            await send(message)

        await self.app(scope, receive, send_with_headers)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """At shutdown the worker chains the audit rows it left waiting (web/deps.py)."""
    yield
    from puhui.web.deps import stop_hot_path

    await run_in_threadpool(stop_hot_path, app)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """A Puhui web app on ``settings`` (default: from the environment).

    ``engine`` defaults to one on the settings' app database; the app owns it then.
    """
    settings = settings or Settings()
    catalogues()  # read the .po files now: a broken catalogue fails at start, not per request
    app = FastAPI(
        title="Puhui API",
        version=__version__,
        description="Digital inclusive finance: API for banks' systems. See docs/api.md.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # Swagger UI loads from a CDN; our own page is served below
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(
        settings.app_database_url,
        pre_ping=settings.db_pool_pre_ping,
        pool_size=settings.db_pool_size,
    )
    app.state.session_factory = session_factory(app.state.engine)
    app.state.login_limiter = LoginLimiter(
        settings.login_attempts, settings.login_window_minutes * 60
    )

    install_handlers(app)
    # Added last, runs first: the session is read before the request context is built.
    app.add_middleware(RequestContext, secure_cookies=settings.cookie_secure)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_key,
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_hours * 3600,
        same_site="lax",
        https_only=settings.cookie_secure,
    )

    for router in api_routers():
        app.include_router(router, prefix=API_PREFIX)
    for router in page_routers():
        app.include_router(router, dependencies=[Depends(check_csrf)])
    _add_shell_routes(app)
    return app


def _add_shell_routes(app: FastAPI) -> None:
    plotly_file = plotly_js()

    @app.get("/healthz", include_in_schema=False)
    def healthz(request: Request) -> JSONResponse:
        try:
            with request.app.state.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:
            log.warning("health check: database unreachable: %s", error)
            raise Problem(503, detail=N_("The app database cannot be reached.")) from None
        return JSONResponse({"status": "ok", "version": __version__})

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly() -> FileResponse:
        return FileResponse(
            plotly_file,
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get(f"{API_PREFIX}/docs", include_in_schema=False)
    def api_docs(request: Request) -> Response:
        return render(request, "api_docs.html", {"operations": _operations(app.openapi())})

    # After the plotly route, so that it is found first.
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The operations of an OpenAPI document, for the docs page (no Swagger UI, no CDN)."""
    found = []
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "description": p.get("description", ""),
                        }
                        for p in operation.get("parameters", [])
                    ],
                    "secured": bool(operation.get("security")),
                }
            )
    return found


def app_from_env() -> FastAPI:
    """The app on the environment's settings: ``uvicorn --factory puhui.web.app:app_from_env``."""
    return create_app(Settings())
