"""Notices API under ``/api/v1``: the caller's own notices. Thin: parse, call the service."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from puhui.notices.schemas import NoticeOut
from puhui.notices.service import list_notices
from puhui.web.deps import CurrentActor, DbSession
from puhui.web.pagination import Page, PageQuery
from puhui.web.problems import PROBLEM_RESPONSES

router = APIRouter(tags=["notices"], responses=PROBLEM_RESPONSES)


@router.get(
    "/notices",
    response_model=Page[NoticeOut],
    summary="The signed-in user's own notices (in-app messages, SMS and email), newest first",
)
def notices(
    actor: CurrentActor,
    db: DbSession,
    page: PageQuery,
    channel: Annotated[
        Literal["sms", "email", "inapp"] | None, Query(description="only this channel")
    ] = None,
    status: Annotated[
        Literal["pending", "sent", "dead"] | None, Query(description="only this status")
    ] = None,
) -> Page[NoticeOut]:
    """Every caller sees only the notices addressed to their own user account (a bank's
    system has none). Addresses are masked."""
    result = list_notices(db, actor, page, status=status, channel=channel)
    return Page[NoticeOut].of(result, NoticeOut.of)
