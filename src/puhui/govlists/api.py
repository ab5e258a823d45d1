"""Government lists' API under ``/api/v1``: lists, members (upload, filter), pushes, tracking.

Thin: parse, call the service, translate. No SQL here; who sees what is the service's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Query, Request, Response, UploadFile

from puhui.govlists import service
from puhui.govlists.models import GovList
from puhui.govlists.schemas import (
    CriteriaIn,
    DefineOut,
    GovListIn,
    GovListOut,
    Kind,
    MemberIn,
    MemberOut,
    PushIn,
    PushOut,
    Status,
    TrackingOut,
    UploadOut,
)
from puhui.govlists.upload import MAX_BYTES, FileTooLargeError
from puhui.govlists.warehouse import read_only_lookup
from puhui.pagination import PageResult
from puhui.web.deps import CurrentActor, DbSession, SettingsDep
from puhui.web.i18n import locale_of
from puhui.web.pagination import Page, PageQuery
from puhui.web.problems import PROBLEM_RESPONSES, STATUS_TITLES, ProblemDetails

#: Problems these endpoints may answer besides the usual ones.
RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    **{
        status: {
            "model": ProblemDetails,
            "content": {"application/problem+json": {}},
            "description": STATUS_TITLES[status],
        }
        for status in (400, 409)
    },
}

router = APIRouter(tags=["government lists"], responses=RESPONSES)
ListCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$")]


def _out(db: DbSession, actor: CurrentActor, found: GovList) -> GovListOut:
    counts = service.member_counts(db, [found.id])
    banks = service.pushed_banks(db, actor, [found.id])
    return GovListOut.of(found, counts.get(found.id, 0), banks.get(found.id, []))


def _page(db: DbSession, actor: CurrentActor, result: PageResult[GovList]) -> Page[GovListOut]:
    ids = [found.id for found in result.items]
    counts = service.member_counts(db, ids)
    banks = service.pushed_banks(db, actor, ids)
    return Page[GovListOut].of(
        result, lambda f: GovListOut.of(f, counts.get(f.id, 0), banks.get(f.id, []))
    )


@router.get("/govlists", response_model=Page[GovListOut], summary="Government lists (精准推送)")
def lists(
    db: DbSession,
    actor: CurrentActor,
    page: PageQuery,
    kind: Annotated[Kind | None, Query()] = None,
    status: Annotated[Status | None, Query()] = None,
) -> Page[GovListOut]:
    """Government and the operator see every list; a bank the lists pushed to it; anyone
    else none. Newest first."""
    return _page(db, actor, service.list_lists(db, actor, page, kind=kind, status=status))


@router.post("/govlists", response_model=GovListOut, status_code=201, summary="Create a list")
def create(db: DbSession, actor: CurrentActor, body: GovListIn) -> GovListOut:
    """Government users and the operator; the list starts as a draft with no members."""
    found = service.create_list(db, actor, body.code, body.name, body.kind, body.description)
    return _out(db, actor, found)


@router.get("/govlists/{code}", response_model=GovListOut, summary="One list")
def one(db: DbSession, actor: CurrentActor, code: ListCode) -> GovListOut:
    return _out(db, actor, service.get_list(db, actor, code))


@router.post("/govlists/{code}/archive", response_model=GovListOut, summary="Archive a list")
def archive(db: DbSession, actor: CurrentActor, code: ListCode) -> GovListOut:
    """It stops counting in matching and white-list flags; banks still see it."""
    return _out(db, actor, service.archive_list(db, actor, code))


@router.get("/govlists/{code}/members", response_model=Page[MemberOut], summary="A list's members")
def members(db: DbSession, actor: CurrentActor, code: ListCode, page: PageQuery) -> Page[MemberOut]:
    """By uscc, each with the largest pre-credit limit on the reader's bank's white lists
    (any bank's, for government). A bank's read is audited."""
    return Page[MemberOut].of(service.list_members(db, actor, code, page), MemberOut.of)


@router.post(
    "/govlists/{code}/members",
    response_model=UploadOut,
    summary="Add members from a CSV or XLSX file",
    responses={
        413: {
            "model": ProblemDetails,
            "content": {"application/problem+json": {}},
            "description": STATUS_TITLES[413],
        }
    },
)
async def upload(
    request: Request,
    db: DbSession,
    actor: CurrentActor,
    code: ListCode,
    file: Annotated[UploadFile, File(description="CSV or XLSX with a uscc column")],
) -> UploadOut:
    """The file's first row names a ``uscc`` (or ``统一社会信用代码``) column, and optionally
    ``note`` (``备注``). Good rows are added; bad rows come back in ``problems`` with their
    1-based data-row number and reason; a business already on the list counts as
    ``already``. A file that cannot be read at all adds nothing (``422``)."""
    content = await file.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise FileTooLargeError
    result = service.upload_members(db, actor, code, file.filename or "", content)
    return UploadOut.of(result, locale_of(request))


@router.post("/govlists/{code}/members/one", response_model=UploadOut, summary="Add one member")
def add_one(
    request: Request, db: DbSession, actor: CurrentActor, code: ListCode, body: MemberIn
) -> UploadOut:
    result = service.add_member(db, actor, code, body.uscc, body.note)
    return UploadOut.of(result, locale_of(request))


@router.post(
    "/govlists/{code}/members/define",
    response_model=DefineOut,
    summary="Add the businesses a filter finds",
    responses={
        503: {
            "model": ProblemDetails,
            "content": {"application/problem+json": {}},
            "description": STATUS_TITLES[503],
        }
    },
)
def define(
    db: DbSession, actor: CurrentActor, settings: SettingsDep, code: ListCode, body: CriteriaIn
) -> DefineOut:
    """Every business with a published profile of the industries, districts and entity
    types given (and, with ``tiers``, whose latest champion tier is one of them — read from
    the warehouse; ``503`` while a batch job holds it). Members already on the list stay."""
    criteria = service.Criteria(
        industries=tuple(body.industries),
        districts=tuple(body.districts),
        entity_types=tuple(body.entity_types),
        tiers=tuple(body.tiers),
    )
    if not criteria.tiers or not service.may_manage(actor):
        # No warehouse needed, or the caller is refused (403/404) before it is opened.
        return DefineOut.of(service.define_members(db, actor, code, criteria))
    service.get_list(db, actor, code)  # 404 before touching the warehouse
    with read_only_lookup(settings) as lookup:
        return DefineOut.of(service.define_members(db, actor, code, criteria, lookup))


@router.delete(
    "/govlists/{code}/members/{uscc}", status_code=204, summary="Take a business off a list"
)
def remove(
    db: DbSession,
    actor: CurrentActor,
    code: ListCode,
    uscc: Annotated[str, Path(pattern=r"^[0-9A-Z]{18}$")],
) -> Response:
    service.remove_member(db, actor, code, uscc)
    return Response(status_code=204)


@router.post("/govlists/{code}/push", response_model=list[PushOut], summary="Push to banks")
def push(db: DbSession, actor: CurrentActor, code: ListCode, body: PushIn) -> list[PushOut]:
    """Each bank sees the list from now on, and it counts in the bank's matching from the
    next ``puhui market refresh``. Pushing again renews the time."""
    return [PushOut.of(p) for p in service.push_list(db, actor, code, body.banks)]


@router.get("/govlists/{code}/pushes", response_model=list[PushOut], summary="Pushes")
def pushes(db: DbSession, actor: CurrentActor, code: ListCode) -> list[PushOut]:
    return [PushOut.of(p) for p in service.pushes_of(db, actor, code)]


@router.get("/govlists/{code}/tracking", response_model=TrackingOut, summary="Loans tracked")
def tracking(db: DbSession, actor: CurrentActor, code: ListCode) -> TrackingOut:
    """Members' applications, approvals, disbursements and first loans since they were
    listed, in all and per bank (a bank: its own)."""
    return TrackingOut.of(service.tracking(db, actor, code))
