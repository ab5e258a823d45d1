"""Government lists (精准推送): create, fill (upload or filter), push to banks, read, track.

Who sees what is decided here, once: :func:`visible_lists` (government and the operator all;
a bank's people and system the lists pushed to their bank; anyone else none) and
:func:`may_manage` (government users and the operator). A list another actor may not see is
``404``, never ``403``: its existence is not revealed. Services flush, never commit; each
change writes its audit row in the same transaction.

Matching reads the members of every *pushed* list through :func:`pushed_memberships`; a
bank's white list shows each business's lists through :func:`flags_for`. Tracking
(:func:`tracking`) counts the applications and loans of the members since each was listed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
from sqlalchemy import (
    Select,
    and_,
    case,
    delete,
    distinct,
    false,
    func,
    insert,
    inspect,
    literal,
    select,
)
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor, Role
from puhui.accounts.service import get_bank, record, utcnow
from puhui.errors import PuhuiError
from puhui.govlists import vocab
from puhui.govlists.models import GovList, GovListMember, GovListPush
from puhui.govlists.upload import ParsedMembers, RowProblem, parse_members
from puhui.identifiers import is_valid_uscc
from puhui.pagination import PageRequest, PageResult, paginate

#: Members written per INSERT.
INSERT_BATCH = 5_000
MAX_NAME = 200
MAX_DESCRIPTION = 5_000

#: Returns the usccs whose latest champion tier is one of the given tiers (the warehouse's
#: ``scores``; see :func:`puhui.govlists.warehouse.tier_members`).
TierLookup = Callable[[Sequence[str]], np.ndarray]


class GovListError(PuhuiError):
    """A request about government lists that cannot be done as asked (HTTP 400)."""

    http_status = 400


class GovListNotFoundError(GovListError):
    http_status = 404


class GovListForbiddenError(GovListError):
    http_status = 403


class GovListConflictError(GovListError):
    """The list's status does not allow this, or the code is taken (HTTP 409)."""

    http_status = 409


def require_schema(session: Session) -> None:
    if not inspect(session.connection()).has_table(GovList.__tablename__):
        raise PuhuiError(
            "应用数据库尚未升级，请先运行 puhui db upgrade",
            "the app database is not migrated yet: run puhui db upgrade first",
        )


# --------------------------------------------------------------------------- who sees what


def may_manage(actor: Actor) -> bool:
    """Create, fill, push and archive lists, and track them: government and the operator."""
    return actor.role in (Role.GOVERNMENT, Role.OPERATOR) and actor.kind != "client"


def visible_lists(actor: Actor) -> Select[GovList]:
    """Lists ``actor`` may see: government and the operator all; a bank's officers, admins
    and system those pushed to their bank; anyone else none."""
    statement = select(GovList)
    if may_manage(actor):
        return statement
    if actor.is_bank and actor.bank_code:
        pushed = select(GovListPush.list_id).where(GovListPush.bank_code == actor.bank_code)
        return statement.where(GovList.id.in_(pushed))
    return statement.where(false())


def _not_found(code: str) -> GovListNotFoundError:
    return GovListNotFoundError(f"没有名单 {code}", f"no list {code}")


def get_list(session: Session, actor: Actor, code: str) -> GovList:
    """A list ``actor`` may see; :class:`GovListNotFoundError` otherwise."""
    found = session.scalars(visible_lists(actor).where(GovList.code == code)).one_or_none()
    if found is None:
        raise _not_found(code)
    return found


def _managed(session: Session, actor: Actor, code: str, *, open_only: bool = True) -> GovList:
    if not may_manage(actor):
        # A bank that may see the list is told it may not change it; others find nothing.
        get_list(session, actor, code)
        raise GovListForbiddenError(
            "只有政府部门用户或平台运营方可以管理名单",
            "only government users and the operator manage lists",
        )
    found = get_list(session, actor, code)
    if open_only and found.status == vocab.ARCHIVED:
        raise GovListConflictError(
            f"名单 {code} 已归档，不能修改", f"list {code} is archived: it cannot change"
        )
    return found


def _require_manager(actor: Actor) -> None:
    if not may_manage(actor):
        raise GovListForbiddenError(
            "只有政府部门用户或平台运营方可以管理名单",
            "only government users and the operator manage lists",
        )


# --------------------------------------------------------------------------- lists


def create_list(
    session: Session, actor: Actor, code: str, name: str, kind: str, description: str = ""
) -> GovList:
    """A new list, in draft, with no members."""
    _require_manager(actor)
    code, name, description = code.strip(), name.strip(), description.strip()
    if not vocab.valid_code(code):
        raise GovListError(
            f"名单代码 {code!r} 无效：1至32位字母、数字或 _ . -，以字母或数字开头",
            f"list code {code!r} is invalid: 1 to 32 letters, digits, _ . - "
            "starting with a letter or digit",
        )
    if not name or len(name) > MAX_NAME:
        raise GovListError(
            f"名单名称须为1至{MAX_NAME}个字符", f"a list's name has 1 to {MAX_NAME} characters"
        )
    if kind not in vocab.KINDS:
        kinds = ", ".join(vocab.KINDS)
        raise GovListError(
            f"名单类型 {kind!r} 无效，可选：{kinds}",
            f"list kind {kind!r} is invalid; one of: {kinds}",
        )
    if len(description) > MAX_DESCRIPTION:
        raise GovListError(
            f"说明最多 {MAX_DESCRIPTION} 个字符",
            f"a description has at most {MAX_DESCRIPTION} characters",
        )
    if session.scalar(select(GovList.id).where(GovList.code == code)) is not None:
        raise GovListConflictError(f"名单代码 {code} 已存在", f"list code {code} is taken")
    now = utcnow()
    created = GovList(
        code=code,
        name=name,
        kind=kind,
        description=description,
        status=vocab.DRAFT,
        criteria=None,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(created)
    session.flush()
    record(session, actor, "govlist.create", "govlist", code, {"kind": kind, "name": name})
    return created


def list_lists(
    session: Session,
    actor: Actor,
    page: PageRequest | None = None,
    *,
    kind: str | None = None,
    status: str | None = None,
) -> PageResult[GovList]:
    """One page of the lists ``actor`` may see, newest first (then by id)."""
    statement = visible_lists(actor)
    if kind is not None:
        statement = statement.where(GovList.kind == kind)
    if status is not None:
        statement = statement.where(GovList.status == status)
    statement = statement.order_by(GovList.created_at.desc(), GovList.id.desc())
    return paginate(session, statement, page or PageRequest())


def archive_list(session: Session, actor: Actor, code: str) -> GovList:
    """Stop serving a list: it no longer counts in matching or flags; banks still see it."""
    found = _managed(session, actor, code)
    found.status = vocab.ARCHIVED
    found.updated_at = utcnow()
    session.flush()
    record(session, actor, "govlist.archive", "govlist", code)
    return found


def member_count(session: Session, list_id: int) -> int:
    return int(session.scalar(select(func.count()).where(GovListMember.list_id == list_id)) or 0)


def member_counts(session: Session, list_ids: Sequence[int]) -> dict[int, int]:
    """Members per list, for a page of lists (one query)."""
    if not list_ids:
        return {}
    rows = session.execute(
        select(GovListMember.list_id, func.count())
        .where(GovListMember.list_id.in_(list_ids))
        .group_by(GovListMember.list_id)
    ).all()
    return {int(list_id): int(count) for list_id, count in rows}


def pushed_banks(session: Session, actor: Actor, list_ids: Sequence[int]) -> dict[int, list[str]]:
    """The banks each list was pushed to (a bank's actor: only its own bank), one query."""
    if not list_ids:
        return {}
    statement = (
        select(GovListPush.list_id, GovListPush.bank_code)
        .where(GovListPush.list_id.in_(list_ids))
        .order_by(GovListPush.bank_code)
    )
    if not may_manage(actor):
        statement = statement.where(GovListPush.bank_code == actor.bank_code)
    found: dict[int, list[str]] = {int(i): [] for i in list_ids}
    for list_id, bank in session.execute(statement):
        found[int(list_id)].append(str(bank))
    return found


# --------------------------------------------------------------------------- members


@dataclass(frozen=True)
class AddResult:
    """What filling a list did: codes added, codes already on it, rows refused."""

    code: str
    rows: int
    added: int
    already: int
    problems: list[RowProblem] = field(default_factory=list)


def _current_members(session: Session, list_id: int) -> np.ndarray:
    found = session.scalars(select(GovListMember.uscc).where(GovListMember.list_id == list_id))
    return np.asarray(list(found), dtype=str)


def _add(
    session: Session,
    target: GovList,
    usccs: np.ndarray,
    notes: Sequence[str] | None,
    source: str,
) -> tuple[int, int]:
    """Insert the codes not yet on the list (vectorised membership test); (added, already)."""
    if len(usccs) == 0:
        return 0, 0
    new = ~np.isin(usccs, _current_members(session, target.id))
    now = utcnow()
    kept = np.flatnonzero(new)
    values = [
        {
            "list_id": target.id,
            "uscc": str(usccs[i]),
            "added_at": now,
            "source": source,
            "note": notes[i] if notes is not None else "",
        }
        for i in kept.tolist()
    ]
    for begin in range(0, len(values), INSERT_BATCH):
        session.execute(insert(GovListMember), values[begin : begin + INSERT_BATCH])
    if len(kept):
        target.updated_at = now
    session.flush()
    return len(kept), int(len(usccs) - len(kept))


def add_parsed(
    session: Session, actor: Actor, code: str, parsed: ParsedMembers, source_name: str = ""
) -> AddResult:
    """Add the good rows of a parsed upload; report the bad ones (nothing is lost)."""
    target = _managed(session, actor, code)
    added, already = _add(
        session, target, np.asarray(parsed.usccs, dtype=str), parsed.notes, "upload"
    )
    record(
        session,
        actor,
        "govlist.members.upload",
        "govlist",
        code,
        {
            "file": source_name[:200],
            "rows": parsed.rows,
            "added": added,
            "already": already,
            "refused": len(parsed.problems),
        },
    )
    return AddResult(code, parsed.rows, added, already, list(parsed.problems))


def upload_members(
    session: Session, actor: Actor, code: str, filename: str, content: bytes
) -> AddResult:
    """Add the businesses of an uploaded CSV or XLSX file (see :mod:`puhui.govlists.upload`):
    good rows are kept, bad rows are reported with their row number and reason. A file that
    cannot be read at all (no ``uscc`` column, not a spreadsheet) adds nothing (422)."""
    _managed(session, actor, code)  # refuse before reading the file
    return add_parsed(session, actor, code, parse_members(filename, content), filename)


def add_member(session: Session, actor: Actor, code: str, uscc: str, note: str = "") -> AddResult:
    """Add one business by its code."""
    target = _managed(session, actor, code)
    uscc = uscc.strip().upper()
    if not is_valid_uscc(uscc):
        raise GovListError(
            f"统一社会信用代码 {uscc} 无效", f"{uscc} is not a valid unified social credit code"
        )
    added, already = _add(session, target, np.asarray([uscc]), [note.strip()[:500]], "manual")
    record(session, actor, "govlist.members.add", "govlist", code, {"uscc": uscc})
    return AddResult(code, 1, added, already)


def remove_member(session: Session, actor: Actor, code: str, uscc: str) -> None:
    """Take a business off a list (404 if it is not on it)."""
    target = _managed(session, actor, code)
    done = session.execute(
        delete(GovListMember).where(GovListMember.list_id == target.id, GovListMember.uscc == uscc)
    )
    if not getattr(done, "rowcount", 0):
        raise GovListNotFoundError(f"{uscc} 不在名单 {code} 中", f"{uscc} is not on list {code}")
    target.updated_at = utcnow()
    session.flush()
    record(session, actor, "govlist.members.remove", "govlist", code, {"uscc": uscc})


@dataclass(frozen=True)
class Criteria:
    """A filter over the published profiles (and the latest champion scores, for tiers).

    Every list given narrows; an empty one does not. ``industries`` are 2-digit GB/T 4754
    divisions (or longer industry-code prefixes), ``districts`` county-level codes,
    ``entity_types`` ``enterprise`` / ``individual`` / ``coop``, ``tiers`` ``survival`` /
    ``growth`` / ``development``.
    """

    industries: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    entity_types: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()

    def as_json(self) -> dict[str, list[str]]:
        return {
            "industries": list(self.industries),
            "districts": list(self.districts),
            "entity_types": list(self.entity_types),
            "tiers": list(self.tiers),
        }

    @property
    def empty(self) -> bool:
        return not (self.industries or self.districts or self.entity_types or self.tiers)


ENTITY_TYPES = ("enterprise", "individual", "coop")
TIERS = ("survival", "growth", "development")


def _check_criteria(criteria: Criteria) -> None:
    if criteria.empty:
        raise GovListError(
            "请至少给出一个筛选条件（行业、县区、主体类型或层级）",
            "give at least one condition: industry, district, entity type or tier",
        )
    bad: list[tuple[str, str]] = []
    bad += [
        ("industries", c) for c in criteria.industries if not (c.isdigit() and 2 <= len(c) <= 4)
    ]
    bad += [("districts", c) for c in criteria.districts if not (c.isdigit() and len(c) == 6)]
    bad += [("entity_types", c) for c in criteria.entity_types if c not in ENTITY_TYPES]
    bad += [("tiers", c) for c in criteria.tiers if c not in TIERS]
    if bad:
        where, value = bad[0]
        raise GovListError(
            f"筛选条件 {where} 的值 {value!r} 无效", f"{where}: {value!r} is invalid"
        )


@dataclass(frozen=True)
class DefineResult:
    code: str
    matched: int
    added: int
    already: int


def define_members(
    session: Session,
    actor: Actor,
    code: str,
    criteria: Criteria,
    tier_lookup: TierLookup | None = None,
) -> DefineResult:
    """Add every business whose published profile matches ``criteria`` (and, for tiers,
    whose latest champion tier is one of them, through ``tier_lookup``). Members already on
    the list stay; the criteria are kept on the list."""
    from puhui.features.access import profile_usccs

    target = _managed(session, actor, code)
    _check_criteria(criteria)
    if criteria.tiers and tier_lookup is None:
        raise GovListConflictError(
            "按层级筛选需要数仓中的评分，当前无法读取；可用 puhui govlists define 命令",
            "a tier filter needs the warehouse's scores, which cannot be read here; "
            "use puhui govlists define",
        )
    found = np.asarray(
        profile_usccs(
            session,
            industries=list(criteria.industries),
            districts=list(criteria.districts),
            entity_types=list(criteria.entity_types),
        ),
        dtype=str,
    )
    if criteria.tiers and tier_lookup is not None:
        found = np.intersect1d(found, np.asarray(tier_lookup(criteria.tiers), dtype=str))
    added, already = _add(session, target, found, None, "filter")
    target.criteria = criteria.as_json()
    session.flush()
    record(
        session,
        actor,
        "govlist.members.define",
        "govlist",
        code,
        {**criteria.as_json(), "matched": len(found), "added": added},
    )
    return DefineResult(code, len(found), added, already)


@dataclass(frozen=True)
class MemberView:
    """A member as a reader sees it: with its registered name and, where the reader's bank
    (any bank, for government) has it on a white list, the largest pre-credit limit offered
    and on how many products."""

    uscc: str
    name: str | None
    added_at: datetime
    source: str
    note: str
    pre_credit_limit: Decimal | None
    products: int


def list_members(
    session: Session, actor: Actor, code: str, page: PageRequest | None = None
) -> PageResult[MemberView]:
    """One page of a list's members, by uscc. A bank's read is audited."""
    from puhui.features.access import profile_names
    from puhui.market.service import best_offers

    target = get_list(session, actor, code)
    statement = (
        select(GovListMember)
        .where(GovListMember.list_id == target.id)
        .order_by(GovListMember.uscc, GovListMember.id)
    )
    result = paginate(session, statement, page or PageRequest())
    usccs = [m.uscc for m in result.items]
    names = profile_names(session, usccs)
    offers = best_offers(session, usccs, actor.bank_code if actor.is_bank else None)
    if actor.is_bank:
        record(session, actor, "govlist.members.read", "govlist", code, {"page": result.page})
    return result.map(
        lambda m: MemberView(
            uscc=m.uscc,
            name=names.get(m.uscc),
            added_at=m.added_at,
            source=m.source,
            note=m.note,
            pre_credit_limit=offers[m.uscc][0] if m.uscc in offers else None,
            products=offers[m.uscc][1] if m.uscc in offers else 0,
        )
    )


# --------------------------------------------------------------------------- pushes


def push_list(
    session: Session, actor: Actor, code: str, bank_codes: Sequence[str]
) -> list[GovListPush]:
    """Push a list to banks: each sees it and its members from now on, and the list counts
    in their matching from the next ``puhui market refresh``. Pushing again to a bank renews
    the push time."""
    target = _managed(session, actor, code)
    wanted = list(dict.fromkeys(c.strip() for c in bank_codes if c.strip()))
    if not wanted:
        raise GovListError("请指定至少一家银行", "name at least one bank")
    unknown = [c for c in wanted if get_bank(session, c) is None]
    if unknown:
        raise GovListNotFoundError(
            f"没有银行 {', '.join(unknown)}", f"no bank {', '.join(unknown)}"
        )
    now = utcnow()
    existing = {
        p.bank_code: p
        for p in session.scalars(select(GovListPush).where(GovListPush.list_id == target.id))
    }
    done = []
    for bank in wanted:
        push = existing.get(bank)
        if push is None:
            push = GovListPush(
                list_id=target.id, bank_code=bank, pushed_at=now, pushed_by=actor.user_id
            )
            session.add(push)
        else:
            push.pushed_at, push.pushed_by = now, actor.user_id
        done.append(push)
    target.status = vocab.PUSHED
    target.updated_at = now
    session.flush()
    record(session, actor, "govlist.push", "govlist", code, {"banks": wanted})
    return done


def pushes_of(session: Session, actor: Actor, code: str) -> list[GovListPush]:
    """The banks a list was pushed to (a bank: only its own push)."""
    target = get_list(session, actor, code)
    statement = select(GovListPush).where(GovListPush.list_id == target.id)
    if not may_manage(actor):
        statement = statement.where(GovListPush.bank_code == actor.bank_code)
    return list(session.scalars(statement.order_by(GovListPush.bank_code)))


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class Membership:
    """A pushed list for matching: its code and kind, the banks it was pushed to, and its
    members (a sorted array of usccs)."""

    code: str
    kind: str
    banks: frozenset[str]
    members: np.ndarray

    @property
    def column(self) -> str:
        """The name of its membership column in the matching core."""
        return f"govlist:{self.code}"

    def feeds(self, wanted: str, bank_code: str) -> bool:
        """Whether a product of ``bank_code`` requiring ``wanted`` is satisfied by this list:
        it was pushed to the bank, and ``wanted`` is ``list:<code>`` or the policy-list code
        of its kind."""
        if bank_code not in self.banks:
            return False
        kind_code = vocab.KIND_POLICY_CODES.get(self.kind)
        return wanted == vocab.LIST_PREFIX + self.code or (
            kind_code is not None and wanted == kind_code
        )


def pushed_memberships(session: Session) -> list[Membership]:
    """Every list in status ``pushed`` with its banks and members (by list code)."""
    if not inspect(session.connection()).has_table(GovList.__tablename__):
        return []
    lists = list(
        session.scalars(
            select(GovList).where(GovList.status == vocab.PUSHED).order_by(GovList.code)
        )
    )
    if not lists:
        return []
    ids = [found.id for found in lists]
    banks: dict[int, set[str]] = {i: set() for i in ids}
    for list_id, bank in session.execute(
        select(GovListPush.list_id, GovListPush.bank_code).where(GovListPush.list_id.in_(ids))
    ):
        banks[int(list_id)].add(str(bank))
    rows = session.execute(
        select(GovListMember.list_id, GovListMember.uscc).where(GovListMember.list_id.in_(ids))
    ).all()
    list_ids = np.asarray([r[0] for r in rows], dtype=np.int64)
    usccs = np.asarray([r[1] for r in rows], dtype=str)
    return [
        Membership(
            code=found.code,
            kind=found.kind,
            banks=frozenset(banks[found.id]),
            members=np.unique(usccs[list_ids == found.id]),
        )
        for found in lists
    ]


def flags_for(session: Session, bank_code: str, usccs: Sequence[str]) -> dict[str, list[str]]:
    """For each of ``usccs`` on a pushed list pushed to ``bank_code``: the lists' codes."""
    if not usccs or not inspect(session.connection()).has_table(GovList.__tablename__):
        return {}
    rows = session.execute(
        select(GovListMember.uscc, GovList.code)
        .join(GovList, GovList.id == GovListMember.list_id)
        .join(GovListPush, GovListPush.list_id == GovList.id)
        .where(
            GovListMember.uscc.in_(set(usccs)),
            GovList.status == vocab.PUSHED,
            GovListPush.bank_code == bank_code,
        )
        .order_by(GovListMember.uscc, GovList.code)
    ).all()
    found: dict[str, list[str]] = {}
    for uscc, code in rows:
        found.setdefault(str(uscc), []).append(str(code))
    return found


# --------------------------------------------------------------------------- tracking


@dataclass(frozen=True)
class TrackingRow:
    """The loans of a list's members since each was listed, for one bank or all banks.

    ``applied``: members with an application submitted after they were listed;
    ``approved``: members with such an application approved; ``disbursed`` and
    ``disbursed_amount``: those applications disbursed and their amount (approved amount,
    else the amount asked); ``first_loans``: members whose first disbursed loan on the
    platform is one of them (no disbursement on the platform before)."""

    bank_code: str | None
    applications: int
    applied: int
    approved: int
    disbursed: int
    disbursed_amount: Decimal
    first_loans: int


@dataclass(frozen=True)
class Tracking:
    code: str
    members: int
    total: TrackingRow
    banks: list[TrackingRow]


def _application_tables(session: Session) -> bool:
    inspector = inspect(session.connection())
    return bool(inspector.has_table("applications") and inspector.has_table("application_events"))


def tracking(session: Session, actor: Actor, code: str) -> Tracking:
    """How the list's members fared since they were listed: applications, approvals,
    disbursements (count and amount) and first loans, in all and per bank.

    Government and the operator see every bank; a bank (which sees the list only when it was
    pushed to it) sees its own applications only. Aggregated in SQL, one query for the
    totals and one per bank."""
    target = get_list(session, actor, code)
    members = member_count(session, target.id)
    only_bank = None if may_manage(actor) else actor.bank_code
    empty = TrackingRow(only_bank, 0, 0, 0, 0, Decimal("0.00"), 0)
    if not _application_tables(session):
        return Tracking(code, members, empty, [])
    rows = _tracking_rows(target.id, only_bank)
    total = _tracking_totals(session, rows, grouped=False)
    banks = _tracking_totals(session, rows, grouped=True)
    whole = replace(total[0], bank_code=only_bank) if total else empty
    return Tracking(code, members, whole, banks)


def _tracking_rows(list_id: int, bank_code: str | None) -> Any:
    """One row per application of a member submitted after it was listed, with whether it
    was approved, when it was disbursed, and the member's first disbursement ever."""
    from puhui.applications.models import Application, ApplicationEvent

    disbursed = (
        select(
            ApplicationEvent.application_id.label("app_id"),
            func.min(ApplicationEvent.at).label("at"),
        )
        .where(ApplicationEvent.stage == "disbursed")
        .group_by(ApplicationEvent.application_id)
        .subquery("disbursed")
    )
    first = (
        select(Application.uscc.label("uscc"), func.min(disbursed.c.at).label("first_at"))
        .join(disbursed, disbursed.c.app_id == Application.id)
        .group_by(Application.uscc)
        .subquery("first")
    )
    approved = select(ApplicationEvent.application_id).where(ApplicationEvent.stage == "approved")
    member = (
        select(GovListMember.uscc, GovListMember.added_at)
        .where(GovListMember.list_id == list_id)
        .subquery("member")
    )
    statement = (
        select(
            Application.id.label("id"),
            Application.uscc.label("uscc"),
            Application.bank_code.label("bank_code"),
            case((Application.id.in_(approved), literal(1)), else_=literal(0)).label("approved"),
            disbursed.c.at.label("disbursed_at"),
            first.c.first_at.label("first_at"),
            func.coalesce(Application.approved_amount, Application.amount).label("money"),
        )
        .join(
            member,
            and_(member.c.uscc == Application.uscc, Application.submitted_at >= member.c.added_at),
        )
        .outerjoin(disbursed, disbursed.c.app_id == Application.id)
        .outerjoin(first, first.c.uscc == Application.uscc)
    )
    if bank_code is not None:
        statement = statement.where(Application.bank_code == bank_code)
    return statement.subquery("tracked")


def _tracking_totals(session: Session, rows: Any, *, grouped: bool) -> list[TrackingRow]:
    is_disbursed = rows.c.disbursed_at.is_not(None)
    columns = [
        func.count(rows.c.id),
        func.count(distinct(rows.c.uscc)),
        func.count(distinct(case((rows.c.approved == 1, rows.c.uscc)))),
        func.count(case((is_disbursed, rows.c.id))),
        func.coalesce(func.sum(case((is_disbursed, rows.c.money), else_=0)), 0),
        func.count(
            distinct(
                case((and_(is_disbursed, rows.c.disbursed_at == rows.c.first_at), rows.c.uscc))
            )
        ),
    ]
    if grouped:
        statement = (
            select(rows.c.bank_code, *columns)
            .where(rows.c.bank_code.is_not(None))
            .group_by(rows.c.bank_code)
            .order_by(rows.c.bank_code)
        )
    else:
        statement = select(literal(None).label("bank_code"), *columns)
    return [
        TrackingRow(
            bank_code=bank,
            applications=int(n),
            applied=int(applied),
            approved=int(approved),
            disbursed=int(disbursed),
            disbursed_amount=Decimal(str(amount)).quantize(Decimal("0.01"), ROUND_HALF_UP),
            first_loans=int(first),
        )
        for bank, n, applied, approved, disbursed, amount, first in session.execute(statement)
    ]
