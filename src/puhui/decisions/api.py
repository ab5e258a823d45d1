"""Decisions API under ``/api/v1``: decide, read a decision, the survey hint; and ``ping``.

Thin: parse, call the service, translate. A refused decision is answered, not raised, so
that its audit row is committed with the request (as profile reads do).
"""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from puhui.decisions import service
from puhui.decisions.runtime import DecisionRuntime
from puhui.decisions.schemas import DecisionIn, DecisionOut, HintIn, HintOut, PingOut
from puhui.errors import PuhuiError
from puhui.settings import Settings
from puhui.web.deps import CurrentActor, DbSession
from puhui.web.i18n import locale_of
from puhui.web.problems import PROBLEM_RESPONSES, problem_response

router = APIRouter(tags=["decisions"], responses=PROBLEM_RESPONSES)
_lock = threading.Lock()


def runtime_of(request: Request) -> DecisionRuntime:
    """The app's decision runtime (engines and feature cache), made on first use."""
    state = request.app.state
    found = getattr(state, "decision_runtime", None)
    if found is None:
        with _lock:
            found = getattr(state, "decision_runtime", None)
            if found is None:
                settings: Settings = state.settings
                found = DecisionRuntime(settings.home / "policy.yaml")
                state.decision_runtime = found
    assert isinstance(found, DecisionRuntime)
    return found


def _error(request: Request, error: PuhuiError) -> Response:
    detail = error.message_zh if locale_of(request) == "zh_CN" else error.message_en
    return problem_response(
        request, getattr(error, "http_status", 400), detail=detail, translate_detail=False
    )


@router.post(
    "/decisions",
    response_model=DecisionOut,
    status_code=201,
    summary="Decide a loan request: approve, refer or decline, with reasons (a bank, "
    "with the business's consent)",
)
def create_decision(
    body: DecisionIn, request: Request, actor: CurrentActor, db: DbSession
) -> Response | DecisionOut:
    """A bank's officer, admin or system asks; the business must have a live consent for
    the bank. The decision is stored (immutably) and its id returned; every request is
    audited, refused ones too."""
    try:
        row = service.decide(
            db,
            actor,
            runtime_of(request),
            body.uscc,
            body.amount,
            product_id=body.product_id,
            term_months=body.term_months,
        )
    except service.DecisionForbiddenError as error:
        return _error(request, error)
    # Serialised here, once: FastAPI would dump the model and validate it again.
    body_json = DecisionOut.of(row, locale_of(request)).model_dump_json()
    return Response(body_json, status_code=201, media_type="application/json")


@router.get(
    "/decisions/{decision_id}",
    response_model=DecisionOut,
    summary="One decision (the bank it was made for, or an operator)",
)
def decision(decision_id: str, request: Request, actor: CurrentActor, db: DbSession) -> DecisionOut:
    """Any other caller gets 404, whether or not the decision exists."""
    return DecisionOut.of(service.get_decision(db, actor, decision_id), locale_of(request))


@router.post(
    "/decisions/hint",
    response_model=HintOut,
    summary="Survey hint (惠富码): risk, suggested amount and rate from the profile and a "
    "few self-reported figures",
)
def decision_hint(body: HintIn, request: Request, actor: CurrentActor, db: DbSession) -> HintOut:
    """The business itself, customer managers and operators. Nothing is stored but the
    audit row; reported figures only ever make the hint more cautious."""
    result, as_of = service.hint(db, actor, runtime_of(request), body.uscc, body.figures())
    return HintOut.of(body.uscc.strip().upper(), as_of, result, locale_of(request))


@router.get(
    "/ping",
    response_model=PingOut,
    tags=["health"],
    summary="Trivial answer, no database: the ceiling of this stack for load tests",
)
async def ping() -> JSONResponse:
    return JSONResponse({"status": "ok"})
