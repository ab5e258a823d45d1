"""Errors as RFC 9457 problem details (API) or as an error page (pages), in the caller's language.

Raise :class:`Problem` anywhere in a request (``raise Problem(404, "Not found")``); raise a
:class:`~puhui.errors.PuhuiError` from a service (HTTP status from its ``http_status``,
400 by default). Titles and details are English source strings translated with the
request's catalogue. An unexpected exception becomes a 500 without any traceback for the
client; the traceback goes to the server log.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from puhui.errors import PuhuiError
from puhui.web.i18n import N_, locale_of, translate

log = logging.getLogger("puhui.web")

PROBLEM_JSON = "application/problem+json"
#: Problem types of our own (relative URIs, resolved against the API's address).
VALIDATION_TYPE = "/problems/validation-error"
CREDENTIALS_TYPE = "/problems/invalid-credentials"

#: A title (English source string; catalogues translate it) for each status we send.
STATUS_TITLES = {
    400: N_("Bad request"),
    401: N_("Not signed in"),
    403: N_("Forbidden"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    413: N_("Request too large"),
    415: N_("Unsupported media type"),
    422: N_("Invalid request"),
    429: N_("Too many attempts"),
    500: N_("Internal server error"),
    503: N_("Service unavailable"),
}
STATUS_DETAILS = {
    403: N_("You are not allowed to see this."),
    404: N_("There is nothing at this address."),
    405: N_("This address does not take this method."),
    500: N_("Something went wrong on our side. It has been logged; please try again later."),
}

#: What a validation error says, by pydantic error type (English source strings).
VALIDATION_MESSAGES = {
    "missing": N_("This field is required."),
    "int_parsing": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "int_from_float": N_("Enter a whole number."),
    "float_parsing": N_("Enter a number."),
    "float_type": N_("Enter a number."),
    "bool_parsing": N_("Enter true or false."),
    "greater_than_equal": N_("Must be at least %(ge)s."),
    "less_than_equal": N_("Must be at most %(le)s."),
    "greater_than": N_("Must be more than %(gt)s."),
    "less_than": N_("Must be less than %(lt)s."),
    "string_too_short": N_("Needs at least %(min_length)s characters."),
    "string_too_long": N_("Needs at most %(max_length)s characters."),
    "string_type": N_("Enter text."),
    "string_pattern_mismatch": N_("Does not have the expected form."),
    "enum": N_("Must be one of: %(expected)s."),
    "literal_error": N_("Must be one of: %(expected)s."),
    "date_parsing": N_("Enter a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": N_("Enter a date as YYYY-MM-DD."),
    "json_invalid": N_("The body is not valid JSON."),
    "model_attributes_type": N_("Expected an object."),
    "dict_type": N_("Expected an object."),
    "list_type": N_("Expected a list."),
}


class FieldError(BaseModel):
    where: str = Field(description="where the value was: query.size, body.amount …")
    what: str = Field(description="what is wrong with it, in the caller's language")
    type: str = Field(description="machine-readable kind of error")


class ProblemDetails(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = Field(default=None, description="validation errors only")


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries of the problem documents a router or route may answer."""
    return {
        status: {
            "model": ProblemDetails,
            "content": {PROBLEM_JSON: {}},
            "description": STATUS_TITLES[status],
        }
        for status in statuses
    }


#: Declare on routers, so that OpenAPI documents the problem responses every route may give.
PROBLEM_RESPONSES = problems(400, 401, 403, 404, 422, 429)


class Problem(Exception):  # noqa: N818 - it is a problem document, not an error class name
    """An HTTP error to send as a problem document (or an error page).

    ``title`` and ``detail`` are English source strings, translated when sent; ``values``
    fill their ``%(name)s`` placeholders; ``extensions`` are extra members of the document.
    """

    def __init__(
        self,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        *,
        type_: str = "about:blank",
        headers: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title or str(status))
        self.status = status
        self.title = title or STATUS_TITLES.get(status, "Error")
        self.detail = detail
        self.type = type_
        self.headers = headers or {}
        self.values = values or {}
        self.extensions = extensions


class LoginRequired(Exception):  # noqa: N818 - a signal, handled by a redirect
    """A page needs a signed-in user: the handler redirects to the login page."""


def wants_page(request: Request) -> bool:
    """Pages get an HTML error page; the API (and anything asking for JSON) a problem document."""
    path = request.url.path
    if path.startswith("/api/") or path == "/healthz":
        return False
    accept = request.headers.get("accept", "")
    return "json" not in accept or "text/html" in accept


def problem_response(
    request: Request,
    status: int,
    title: str | None = None,
    detail: str | None = None,
    *,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    translate_detail: bool = True,
    **extensions: Any,
) -> Response:
    """The response for an error: a problem document, or the error page for a page."""
    locale = locale_of(request)
    values = values or {}
    title_text = translate(locale, title or STATUS_TITLES.get(status, "Error"), **values)
    detail = detail if detail is not None else STATUS_DETAILS.get(status)
    if detail is not None and translate_detail:
        detail = translate(locale, detail, **values)
    if wants_page(request):
        from puhui.web.templating import render

        return render(
            request,
            "error.html",
            {"status": status, "title": title_text, "detail": detail},
            status_code=status,
            headers=headers,
        )
    body: dict[str, Any] = {
        "type": type_,
        "title": title_text,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update(extensions)
    return JSONResponse(
        {k: v for k, v in body.items() if v is not None},
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def field_errors(error: RequestValidationError, locale: str) -> list[dict[str, str]]:
    """Each invalid field: where it was and what is wrong, in ``locale``."""
    found = []
    for item in error.errors():
        kind = str(item.get("type", "value_error"))
        context = {k: _readable(v) for k, v in (item.get("ctx") or {}).items()}
        message = VALIDATION_MESSAGES.get(kind)
        if message is None:
            what = translate(locale, N_("Invalid value."))
        else:
            try:
                what = translate(locale, message, **context)
            except (KeyError, ValueError):
                what = translate(locale, N_("Invalid value."))
        found.append(
            {"where": ".".join(str(p) for p in item.get("loc", ())), "what": what, "type": kind}
        )
    return found


def _readable(value: Any) -> str:
    return str(value).replace("'", "") if value is not None else ""


async def _on_problem(request: Request, error: Exception) -> Response:
    assert isinstance(error, Problem)
    return problem_response(
        request,
        error.status,
        error.title,
        error.detail,
        type_=error.type,
        headers=error.headers,
        values=error.values,
        **error.extensions,
    )


async def _on_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    # Starlette's own details ("Not Found") are English phrases: our titles replace them.
    return problem_response(request, error.status_code, headers=dict(error.headers or {}))


async def _on_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    locale = locale_of(request)
    errors = field_errors(error, locale)
    if wants_page(request):
        detail = "; ".join(f"{e['where']}: {e['what']}" for e in errors)
        return problem_response(request, 422, detail=detail, translate_detail=False)
    return problem_response(
        request,
        422,
        detail=N_("Some values in the request are not valid; see errors."),
        type_=VALIDATION_TYPE,
        errors=errors,
    )


async def _on_puhui_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, PuhuiError)
    status = getattr(error, "http_status", 400)
    detail = error.message_zh if locale_of(request) == "zh_CN" else error.message_en
    return problem_response(request, status, detail=detail, translate_detail=False)


async def _on_login_required(request: Request, error: Exception) -> Response:
    from urllib.parse import quote

    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


async def _on_unexpected(request: Request, error: Exception) -> Response:
    # The traceback stays in the server log; the client learns only that it failed.
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return problem_response(request, 500)


def install_handlers(app: FastAPI) -> None:
    """Send every error of ``app`` as a problem document or an error page."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(PuhuiError, _on_puhui_error)
    app.add_exception_handler(LoginRequired, _on_login_required)
    app.add_exception_handler(Exception, _on_unexpected)
