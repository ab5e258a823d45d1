"""Hash chains: the one helper that numbers, links and checks the entries of an append-only
table — the audit log (``audit_log``) and the consent ledger (``consent_ledger``).

Every entry has a gapless ``seq`` (1, 2, 3, … per chain), the ``prev_hash`` of the entry
before it (64 zeros for the first) and its own ``entry_hash``::

    entry_hash = sha256(canonical({every hashed column of the entry, "prev_hash": …}))

:func:`canonical` is the one canonical form (docs/consent.md spells it out so that anyone
can recompute a hash without this code): a JSON object, keys sorted, no spaces, UTF-8,
non-ASCII kept as is, times as ``YYYY-MM-DDTHH:MM:SS.ffffff`` (naive UTC).

Appending is serialised per chain by a row lock on the chain's row of ``chain_heads``
(``UPDATE … RETURNING``), held until the caller's transaction ends: on PostgreSQL other
writers wait on the row lock; on SQLite the UPDATE takes the database's write lock first,
so no writer reads a head that another is about to move. Chains are always locked in the
order of :data:`CHAIN_ORDER` (the audit chain first), so two transactions that write both
cannot deadlock on them. The head row also keeps the last ``seq`` and hash, so that
:func:`verify_chain` notices entries cut off the end of a chain.

**Deferred (the audit log only).** Holding the head's lock from the first audit row to the
commit makes every audited write of every worker wait for the one before it. A session
marked with :func:`defer_chain` (web requests on PostgreSQL, see
:mod:`puhui.accounts.chainer`) therefore inserts its audit rows *unchained* — ``seq``,
``prev_hash`` and ``entry_hash`` empty — in its own transaction, and
:func:`chain_waiting` later numbers, links and hashes every committed waiting row in
``id`` order in one short transaction of its own (the head locked only for that). The
hash covers the row as stored, so verifying recomputes exactly what was chained. Until a
row is chained (normally some milliseconds, at most about ``audit_chain_seconds`` when a
worker stops between commit and chaining) it is stored and readable but not yet
protected by the chain: an edit or deletion in that window is not detectable;
:func:`verify_chain` counts the waiting rows and reports the oldest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from puhui.accounts.models import AuditEntry, ChainHead
from puhui.db import Base
from puhui.errors import PuhuiError

#: The ``prev_hash`` of the first entry of every chain.
GENESIS = "0" * 64
#: Every chain, in the order their heads are locked (a writer of a later chain locks the
#: earlier ones first). Every transaction that writes the consent ledger also writes the
#: audit log, so locking ``audit`` first costs nothing and rules out deadlocks between them.
CHAIN_ORDER: tuple[str, ...] = ("audit", "consent")
#: Rows read per round trip when a chain is walked.
BATCH = 2000


class ChainError(PuhuiError):
    """A chain cannot be appended to (its head is missing: the database is not migrated)."""

    http_status = 500


@dataclass(frozen=True)
class ChainSpec:
    """A chained table: its chain name, its table and the columns the hash covers.

    ``fields`` are every column but ``entry_hash`` (and a surrogate key such as the audit
    log's ``id``, which says nothing); ``seq`` and ``prev_hash`` are among them. ``label``
    names the column shown beside ``seq`` in reports (``id`` for the audit log).
    """

    name: str
    table: Table
    fields: tuple[str, ...]
    label: str = "seq"


def chain_fields(table: Table, leave_out: Sequence[str] = ()) -> tuple[str, ...]:
    """Every column of ``table`` that the hash covers: all but ``entry_hash`` and ``leave_out``."""
    return tuple(c.name for c in table.columns if c.name not in {"entry_hash", *leave_out})


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


#: The audit log: every column but the surrogate ``id`` is hashed; reports name the ``id``.
AUDIT = ChainSpec(
    "audit", _table(AuditEntry), chain_fields(_table(AuditEntry), ("id",)), label="id"
)


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} has no canonical form in a hash chain")


def canonical(values: Mapping[str, Any]) -> bytes:
    """The canonical JSON of an entry: sorted keys (at every depth), no whitespace, UTF-8,
    times as ISO 8601 with microseconds; NaN and infinities are refused."""
    return json.dumps(
        values,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_default,
    ).encode("utf-8")


def entry_hash(values: Mapping[str, Any], prev_hash: str) -> str:
    """SHA-256 (hex) of the canonical JSON of ``values`` plus ``prev_hash``."""
    return hashlib.sha256(canonical({**values, "prev_hash": prev_hash})).hexdigest()


def as_json(value: Any) -> Any:
    """``value`` as it comes back from a JSON column (tuples become lists, keys text), so
    that the hash written is the hash recomputed from the stored row."""
    return json.loads(json.dumps(value, allow_nan=False, default=_default))


# --------------------------------------------------------------------------- appending

_heads: Table = _table(ChainHead)


def _ensure_head(session: Session, spec_or_name: ChainSpec | str) -> None:
    """Create a missing head row at the genesis — only for a chain with no entries yet (a
    missing head over existing entries is a damaged database, not something to paper over)."""
    name = spec_or_name if isinstance(spec_or_name, str) else spec_or_name.name
    if isinstance(spec_or_name, ChainSpec):
        table = spec_or_name.table
        chained = select(table.c.seq).where(table.c.seq.is_not(None)).limit(1)
        if session.execute(chained).first() is not None:
            raise ChainError(
                f"哈希链 {name} 缺少链头记录，请运行 puhui audit verify 检查",
                f"the {name} hash chain has entries but no head row: run puhui audit verify",
            )
    values = {"chain": name, "last_seq": 0, "last_hash": GENESIS}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(postgresql.insert(_heads).values(values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite.insert(_heads).values(values).on_conflict_do_nothing())
    else:  # pragma: no cover - the app runs on SQLite and PostgreSQL only
        session.execute(insert(_heads).values(values))


def _touch(session: Session, name: str) -> None:
    """Lock a chain's head without moving it (an UPDATE that changes nothing still locks)."""
    done = session.execute(
        update(_heads).where(_heads.c.chain == name).values(last_seq=_heads.c.last_seq)
    )
    if not getattr(done, "rowcount", 1):
        _ensure_head(session, name)


def _claim(session: Session, spec: ChainSpec) -> tuple[int, str]:
    """Lock the chain (and the chains before it) until the transaction ends; the seq the
    new entry gets and the hash it links to."""
    for name in CHAIN_ORDER[: CHAIN_ORDER.index(spec.name)]:
        _touch(session, name)
    statement = (
        update(_heads)
        .where(_heads.c.chain == spec.name)
        .values(last_seq=_heads.c.last_seq + 1)
        .returning(_heads.c.last_seq, _heads.c.last_hash)
    )
    row = session.execute(statement).first()
    if row is None:
        _ensure_head(session, spec)
        row = session.execute(statement).one()
    return int(row[0]), str(row[1])


def hashed_values(spec: ChainSpec, entry: Base) -> dict[str, Any]:
    """The hashed columns of an entry about to be inserted. A column left unset takes its
    Python-side scalar default here, so that the value hashed is the value inserted."""
    values = {}
    for name in spec.fields:
        if name == "prev_hash":
            continue
        value = getattr(entry, name)
        default = spec.table.c[name].default
        if value is None and default is not None and default.is_scalar:
            value = default.arg  # type: ignore[attr-defined]
            setattr(entry, name, value)
        values[name] = value
    return values


#: ``session.info`` key: the session's audit rows wait for :func:`chain_waiting`.
DEFERRED = "puhui.audit_chain_deferred"
#: ``session.info`` key: the session wrote waiting audit rows (the chainer is woken).
WROTE_WAITING = "puhui.audit_rows_waiting"


def defer_chain(session: Session) -> None:
    """Let ``session``'s audit rows be chained after it commits, not in its transaction."""
    session.info[DEFERRED] = True


def is_deferred(session: Session) -> bool:
    return bool(session.info.get(DEFERRED))


def chain_waiting(session: Session, spec: ChainSpec = AUDIT, *, limit: int = BATCH) -> int:
    """Chain up to ``limit`` committed waiting rows of ``spec`` (the oldest ``id`` first) in
    the caller's transaction; how many. The caller commits at once: the head stays locked
    until then.

    Each row gets the next ``seq``, the previous hash and the hash of its stored values,
    exactly as :func:`append` would have given it at that moment. On PostgreSQL a head
    locked by another chainer (or an inline writer) is skipped, not waited for: that one
    chains what is waiting, and rows committed meanwhile are taken on the next pass.
    """
    table = spec.table
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        head = session.execute(
            select(_heads.c.last_seq, _heads.c.last_hash)
            .where(_heads.c.chain == spec.name)
            .with_for_update(skip_locked=True)
        ).first()
        if head is None:  # locked by another chainer, or no head yet
            if head_of(session, spec.name) is None:
                chained = select(table.c.id).where(table.c.seq.is_not(None)).limit(1)
                if session.execute(chained).first() is not None:
                    _ensure_head(session, spec)  # refuses: entries but no head
                _ensure_head(session, spec.name)
            return 0
        last_seq, prev = int(head[0]), str(head[1])
    else:
        _touch(session, spec.name)  # SQLite: the UPDATE takes the write lock first
        found = head_of(session, spec.name)
        assert found is not None
        last_seq, prev = found
    hashed = [name for name in spec.fields if name not in {"seq", "prev_hash"}]
    rows = session.execute(
        select(table.c.id, *(table.c[name] for name in hashed))
        .where(table.c.seq.is_(None))
        .order_by(table.c.id)
        .limit(limit)
    ).all()
    if not rows:
        return 0
    links = []
    for row in rows:
        values = dict(row._mapping)
        row_id = values.pop("id")
        last_seq += 1
        values["seq"] = last_seq
        digest = entry_hash(values, prev)
        links.append({"row_id": row_id, "s": last_seq, "p": prev, "h": digest})
        prev = digest
    done = session.execute(
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.seq.is_(None))
        .values(seq=bindparam("s"), prev_hash=bindparam("p"), entry_hash=bindparam("h")),
        links,
    )
    if getattr(done, "rowcount", len(links)) != len(links):
        # A waiting row vanished under us: chaining on would leave a gap. Roll back.
        raise ChainError(
            f"哈希链 {spec.name} 的待链入记录在链入时被删除",
            f"waiting rows of the {spec.name} hash chain were deleted while being chained",
        )
    session.execute(
        update(_heads).where(_heads.c.chain == spec.name).values(last_seq=last_seq, last_hash=prev)
    )
    return len(links)


def waiting(session: Session, spec: ChainSpec = AUDIT) -> tuple[int, datetime | None]:
    """How many rows of ``spec`` wait to be chained, and when the oldest was written."""
    table = spec.table
    row = session.execute(
        select(func.count(), func.min(table.c.at)).where(table.c.seq.is_(None))
    ).one()
    return int(row[0]), row[1]


def append(session: Session, spec: ChainSpec, entry: Base) -> Base:
    """Number, link, hash and insert ``entry`` (its other columns already set), in the
    caller's transaction; the chain stays locked until that transaction ends."""
    seq, prev_hash = _claim(session, spec)
    entry.seq = seq  # type: ignore[attr-defined]
    entry.prev_hash = prev_hash  # type: ignore[attr-defined]
    digest = entry_hash(hashed_values(spec, entry), prev_hash)
    entry.entry_hash = digest  # type: ignore[attr-defined]
    session.add(entry)
    session.flush()
    session.execute(update(_heads).where(_heads.c.chain == spec.name).values(last_hash=digest))
    return entry


# --------------------------------------------------------------------------- verifying


@dataclass(frozen=True)
class Break:
    """The first place a chain (or the consent projection) is not what its hashes say."""

    chain: str
    seq: int | None
    row_id: int | None
    problem: str  # missing | order | prev_hash | entry_hash | head | projection
    message_zh: str
    message_en: str

    def __str__(self) -> str:
        return f"{self.message_zh} ({self.message_en})"


@dataclass(frozen=True)
class ChainReport:
    """One chain walked: how many entries, the head it ends at, and its first break."""

    chain: str
    entries: int
    head_seq: int
    broken: Break | None
    #: Rows not chained yet (deferred audit chain) and when the oldest was written.
    waiting: int = 0
    oldest_waiting_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _short(digest: str | None) -> str:
    return (digest or "∅")[:12] + "…"


def verify_chain(session: Session, spec: ChainSpec) -> ChainReport:
    """Walk ``spec``'s chain in ``seq`` order, recompute every hash and stop at the first
    entry that does not fit: a gap in ``seq`` (an entry deleted), a ``prev_hash`` that is
    not the previous entry's hash, an ``entry_hash`` that is not the hash of the entry's
    content (an entry edited), or a head that is not the last entry (entries cut off the
    end, or added without the helper)."""
    table = spec.table
    columns = [table.c[name] for name in dict.fromkeys((*spec.fields, spec.label, "entry_hash"))]
    rows = session.execute(
        select(*columns).where(table.c.seq.is_not(None)).order_by(table.c.seq)
    ).yield_per(BATCH)
    expected, prev, count, label = 1, GENESIS, 0, spec.label

    def broken(seq: int | None, row_id: int | None, problem: str, zh: str, en: str) -> Break:
        return Break(spec.name, seq, row_id, problem, zh, en)

    found: Break | None = None
    for row in rows:
        values = dict(row._mapping)
        seq, row_id = int(values["seq"]), values[label]
        where_zh = f"第 {seq} 条" + (f"（{label} {row_id}）" if label != "seq" else "")
        where_en = f"entry seq {seq}" + (f" ({label} {row_id})" if label != "seq" else "")
        if seq != expected:
            if seq > expected:
                gap = f"{expected}" if seq == expected + 1 else f"{expected}–{seq - 1}"
                found = broken(
                    expected,
                    None,
                    "missing",
                    f"第 {gap} 条缺失（被删除）：下一条是{where_zh}",
                    f"entry seq {gap} is missing (deleted): the next one is {where_en}",
                )
            else:
                found = broken(seq, row_id, "order", f"{where_zh}重复", f"{where_en} appears twice")
            break
        if values["prev_hash"] != prev:
            found = broken(
                seq,
                row_id,
                "prev_hash",
                f"{where_zh}的 prev_hash {_short(values['prev_hash'])} 与上一条的哈希 "
                f"{_short(prev)} 不符（上一条被改动或替换）",
                f"{where_en}: prev_hash {_short(values['prev_hash'])} is not the previous "
                f"entry's hash {_short(prev)} (the previous entry was changed or replaced)",
            )
            break
        content = {name: values[name] for name in spec.fields if name != "prev_hash"}
        recomputed = entry_hash(content, prev)
        if values["entry_hash"] != recomputed:
            found = broken(
                seq,
                row_id,
                "entry_hash",
                f"{where_zh}内容被改动：存储的哈希 {_short(values['entry_hash'])}，"
                f"按内容重算为 {_short(recomputed)}",
                f"{where_en} was changed: stored entry_hash {_short(values['entry_hash'])}, "
                f"its content hashes to {_short(recomputed)}",
            )
            break
        prev, expected, count = str(values["entry_hash"]), seq + 1, count + 1
    head = session.execute(
        select(_heads.c.last_seq, _heads.c.last_hash).where(_heads.c.chain == spec.name)
    ).first()
    head_seq = int(head[0]) if head is not None else 0
    if found is None:
        last = expected - 1
        head_hash = str(head[1]) if head is not None else GENESIS
        if head_seq != last:
            found = broken(
                head_seq,
                None,
                "head",
                f"链头记录为第 {head_seq} 条，但链止于第 {last} 条（末尾的记录被删除，"
                "或有记录未经哈希链写入）",
                f"the head says seq {head_seq} but the chain ends at seq {last} (entries were "
                "cut off the end, or written without the chain)",
            )
        elif head_hash != prev:
            found = broken(
                head_seq,
                None,
                "head",
                f"链头哈希 {_short(head_hash)} 与最后一条的哈希 {_short(prev)} 不符",
                f"the head hash {_short(head_hash)} is not the last entry's hash {_short(prev)}",
            )
    count_waiting, oldest = waiting(session, spec) if spec is AUDIT else (0, None)
    return ChainReport(spec.name, count, head_seq, found, count_waiting, oldest)


def head_of(session: Session, name: str) -> tuple[int, str] | None:
    """(last seq, last hash) of a chain, None if it has no head row."""
    row = session.execute(
        select(_heads.c.last_seq, _heads.c.last_hash).where(_heads.c.chain == name)
    ).first()
    return (int(row[0]), str(row[1])) if row is not None else None
