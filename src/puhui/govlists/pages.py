"""Government list pages: government manages lists (create, upload, define, push, track);
a bank reads the lists pushed to it, with each member's pre-credit limit.

Thin: parse the form, call the service, shape for the template. No SQL here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from puhui.accounts.actor import Actor, Role
from puhui.accounts.service import list_banks
from puhui.govlists import service, vocab
from puhui.govlists.models import GovList
from puhui.govlists.service import AddResult, Criteria, GovListError
from puhui.govlists.upload import MAX_BYTES, BadFileError, FileTooLargeError
from puhui.govlists.warehouse import read_only_lookup
from puhui.market.vocab import ENTITY_TYPES, TIERS
from puhui.pagination import PageRequest
from puhui.web.deps import DbSession, PageActor, SettingsDep
from puhui.web.i18n import N_, locale_of
from puhui.web.nav import NavLink, register
from puhui.web.pagination import PageNumber
from puhui.web.templating import add_template_dir, render

router = APIRouter(include_in_schema=False)
add_template_dir(Path(__file__).parent / "templates")

register(
    NavLink(
        "/govlists",
        N_("Government lists"),
        roles=frozenset(
            {
                Role.GOVERNMENT,
                Role.OPERATOR,
                Role.BANK_OFFICER,
                Role.BANK_ADMIN,
            }
        ),
        description=N_("Lists of businesses to serve first (精准推送): upload, push, track"),
    )
)

PAGE_SIZE = 50


def _message(request: Request, error: GovListError | BadFileError) -> str:
    return error.message_zh if locale_of(request) == "zh_CN" else error.message_en


def _list_view(found: GovList, members: int, banks: list[str], locale: str) -> dict[str, Any]:
    return {
        "code": found.code,
        "name": found.name,
        "kind": vocab.label(vocab.KINDS, found.kind, locale),
        "status": found.status,
        "status_label": vocab.label(vocab.STATUSES, found.status, locale),
        "description": found.description,
        "members": members,
        "banks": banks,
        "criteria": found.criteria,
        "updated": found.updated_at.strftime("%Y-%m-%d %H:%M"),
    }


def _index(
    request: Request,
    db: DbSession,
    actor: Actor,
    page: int = 1,
    error: str | None = None,
    status_code: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    locale = locale_of(request)
    result = service.list_lists(db, actor, PageRequest(page=max(page, 1), size=PAGE_SIZE))
    ids = [found.id for found in result.items]
    counts = service.member_counts(db, ids)
    banks = service.pushed_banks(db, actor, ids)
    return render(
        request,
        "govlists/lists.html",
        {
            "actor": actor,
            "lists": [
                _list_view(f, counts.get(f.id, 0), banks.get(f.id, []), locale)
                for f in result.items
            ],
            "may_manage": service.may_manage(actor),
            "kinds": [(code, vocab.label(vocab.KINDS, code, locale)) for code in vocab.KINDS],
            "total": result.total,
            "page": result.page,
            "has_next": result.page * result.size < result.total,
            "error": error,
            "form": form or {},
        },
        status_code=status_code,
    )


@router.get("/govlists", response_class=Response)
def lists_page(request: Request, db: DbSession, actor: PageActor, page: PageNumber = 1) -> Response:
    """Government and the operator: every list and a form for a new one; a bank: the lists
    pushed to it."""
    return _index(request, db, actor, page)


@router.post("/govlists", response_class=Response)
def create_list(
    request: Request,
    db: DbSession,
    actor: PageActor,
    code: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
    kind: Annotated[str, Form(max_length=32)] = "",
    description: Annotated[str, Form(max_length=10000)] = "",
) -> Response:
    try:
        found = service.create_list(db, actor, code, name, kind, description)
    except GovListError as error:
        form = {"code": code, "name": name, "kind": kind, "description": description}
        return _index(
            request,
            db,
            actor,
            error=_message(request, error),
            status_code=error.http_status,
            form=form,
        )
    return RedirectResponse(f"/govlists/{found.code}", status_code=303)


def _detail(
    request: Request,
    db: DbSession,
    actor: Actor,
    code: str,
    page: int = 1,
    *,
    error: str | None = None,
    upload: AddResult | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    locale = locale_of(request)
    found = service.get_list(db, actor, code)
    result = service.list_members(db, actor, code, PageRequest(page=max(page, 1), size=PAGE_SIZE))
    counts = service.member_counts(db, [found.id])
    banks = service.pushed_banks(db, actor, [found.id])
    manage = service.may_manage(actor)
    return render(
        request,
        "govlists/list.html",
        {
            "actor": actor,
            "item": _list_view(found, counts.get(found.id, 0), banks.get(found.id, []), locale),
            "members": [
                {
                    "uscc": m.uscc,
                    "name": m.name or "—",
                    "added": m.added_at.strftime("%Y-%m-%d"),
                    "source": m.source,
                    "note": m.note,
                    "limit": f"{m.pre_credit_limit:,.2f}"
                    if m.pre_credit_limit is not None
                    else "—",
                    "products": m.products,
                }
                for m in result.items
            ],
            "total": result.total,
            "page": result.page,
            "has_next": result.page * result.size < result.total,
            "may_manage": manage,
            "open": found.status != vocab.ARCHIVED,
            "banks": list_banks(db) if manage else [],
            "entity_types": [
                (c, t[0] if locale == "zh_CN" else t[1]) for c, t in ENTITY_TYPES.items()
            ],
            "tiers": [(c, t[0] if locale == "zh_CN" else t[1]) for c, t in TIERS.items()],
            "error": error,
            "notice": notice,
            "upload": upload,
            "problems": [
                {"row": p.row, "value": p.value, "reason": p.text(locale)}
                for p in (upload.problems if upload else [])
            ],
        },
        status_code=status_code,
    )


@router.get("/govlists/{code}", response_class=Response)
def list_page(
    request: Request, db: DbSession, actor: PageActor, code: str, page: PageNumber = 1
) -> Response:
    """A list: its members (with pre-credit limits), and for government the forms to fill
    and push it."""
    return _detail(request, db, actor, code, page)


@router.post("/govlists/{code}/upload", response_class=Response)
async def upload_page(
    request: Request,
    db: DbSession,
    actor: PageActor,
    code: str,
    file: Annotated[UploadFile, File()],
) -> Response:
    content = await file.read(MAX_BYTES + 1)
    try:
        if len(content) > MAX_BYTES:
            raise FileTooLargeError
        result = service.upload_members(db, actor, code, file.filename or "", content)
    except (GovListError, BadFileError) as error:
        return _detail(
            request,
            db,
            actor,
            code,
            error=_message(request, error),
            status_code=error.http_status,
        )
    return _detail(request, db, actor, code, upload=result)


def _items(values: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in values.replace("，", ",").split(",") if part.strip())


@router.post("/govlists/{code}/define", response_class=Response)
async def define_page(
    request: Request,
    db: DbSession,
    actor: PageActor,
    settings: SettingsDep,
    code: str,
    industries: Annotated[str, Form(max_length=2000)] = "",
    districts: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    form = await request.form()
    criteria = Criteria(
        industries=_items(industries),
        districts=_items(districts),
        entity_types=tuple(str(v) for v in form.getlist("entity_types")),
        tiers=tuple(str(v) for v in form.getlist("tiers")),
    )
    try:
        if criteria.tiers and service.may_manage(actor):
            service.get_list(db, actor, code)
            with read_only_lookup(settings) as lookup:
                done = service.define_members(db, actor, code, criteria, lookup)
        else:
            done = service.define_members(db, actor, code, criteria)
    except GovListError as error:
        return _detail(
            request, db, actor, code, error=_message(request, error), status_code=error.http_status
        )
    locale = locale_of(request)
    notice = (
        f"筛选出 {done.matched:,} 户，新加入 {done.added:,} 户，已在名单中 {done.already:,} 户"
        if locale == "zh_CN"
        else f"{done.matched:,} found: {done.added:,} added, {done.already:,} on the list before"
    )
    return _detail(request, db, actor, code, notice=notice)


@router.post("/govlists/{code}/push", response_class=Response)
async def push_page(request: Request, db: DbSession, actor: PageActor, code: str) -> Response:
    form = await request.form()
    banks = [str(v) for v in form.getlist("banks")]
    try:
        service.push_list(db, actor, code, banks)
    except GovListError as error:
        return _detail(
            request, db, actor, code, error=_message(request, error), status_code=error.http_status
        )
    return RedirectResponse(f"/govlists/{code}", status_code=303)


@router.post("/govlists/{code}/archive", response_class=Response)
def archive_page(request: Request, db: DbSession, actor: PageActor, code: str) -> Response:
    try:
        service.archive_list(db, actor, code)
    except GovListError as error:
        return _detail(
            request, db, actor, code, error=_message(request, error), status_code=error.http_status
        )
    return RedirectResponse(f"/govlists/{code}", status_code=303)


@router.get("/govlists/{code}/tracking", response_class=Response)
def tracking_page(request: Request, db: DbSession, actor: PageActor, code: str) -> Response:
    """The loans of the list's members since they were listed, in all and per bank."""
    locale = locale_of(request)
    found = service.get_list(db, actor, code)
    tracked = service.tracking(db, actor, code)
    bank_names = {bank.code: bank.name for bank in list_banks(db)}

    def row(r: service.TrackingRow) -> dict[str, Any]:
        return {
            "bank": bank_names.get(r.bank_code, r.bank_code) if r.bank_code else None,
            "applications": r.applications,
            "applied": r.applied,
            "approved": r.approved,
            "disbursed": r.disbursed,
            "amount": f"{r.disbursed_amount:,.2f}",
            "first_loans": r.first_loans,
        }

    chart = {
        "data": [
            {
                "type": "bar",
                "x": [bank_names.get(r.bank_code or "", r.bank_code) for r in tracked.banks],
                "y": [float(r.disbursed_amount) for r in tracked.banks],
                "marker": {"color": "#b3261e"},
            }
        ],
        "layout": {
            "height": 300,
            "margin": {"l": 70, "r": 10, "t": 30, "b": 60},
            "yaxis": {"title": {"text": "元" if locale == "zh_CN" else "yuan"}},
        },
    }
    return render(
        request,
        "govlists/tracking.html",
        {
            "actor": actor,
            "item": _list_view(found, tracked.members, [], locale),
            "members": tracked.members,
            "total": row(tracked.total),
            "banks": [row(r) for r in tracked.banks],
            "chart": chart,
        },
    )
