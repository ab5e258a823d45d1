"""Profile API under ``/api/v1``: one business's profile, for those allowed to read it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from puhui.errors import PuhuiError
from puhui.features.access import attempt_profile_read
from puhui.features.schemas import ProfileOut
from puhui.web.deps import CurrentActor, DbSession
from puhui.web.i18n import locale_of
from puhui.web.problems import PROBLEM_RESPONSES, problem_response

router = APIRouter(tags=["profiles"], responses=PROBLEM_RESPONSES)


def error_response(request: Request, error: PuhuiError) -> Response:
    """A service's error answered, not raised: the request's transaction (with the audit
    row of a refused read) is still committed."""
    detail = error.message_zh if locale_of(request) == "zh_CN" else error.message_en
    status = getattr(error, "http_status", 400)
    return problem_response(request, status, detail=detail, translate_detail=False)


@router.get(
    "/profiles/{uscc}",
    response_model=ProfileOut,
    summary="A business's profile (画像): the business, operators, government, or a bank "
    "with the business's consent",
)
def profile(
    uscc: str, request: Request, actor: CurrentActor, db: DbSession
) -> Response | ProfileOut:
    """Every call is written to the audit log, refused ones too. A bank reads only the
    sections its live consents name (``document`` has those and ``as_of``); a bank without
    a live consent of the business gets 404, whether or not the profile exists."""
    read = attempt_profile_read(db, actor, uscc)
    if read.error is not None:
        return error_response(request, read.error)
    assert read.profile is not None
    return ProfileOut.of(read.profile)
