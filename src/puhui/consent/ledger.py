"""The consent ledger: every grant and revoke as an entry of an append-only hash chain, and
the check that the ``consents`` projection is what the ledger says.

Entries are written by :mod:`puhui.consent.service` (never by anyone else) with
:func:`append_event`, in the same transaction as the change to ``consents`` and its audit
row. The chain itself is numbered, linked, hashed and locked by
:mod:`puhui.accounts.chain`, the helper the audit log uses too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Table, and_, func, or_, select
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor
from puhui.accounts.chain import Break, ChainSpec, append, chain_fields
from puhui.consent.models import Consent, ConsentLedgerEntry

Event = Literal["grant", "revoke"]
#: The events an entry may record (an ``expire-notice`` may follow).
EVENTS: tuple[str, ...] = ("grant", "revoke")

_ledger = ConsentLedgerEntry.__table__
_consents = Consent.__table__
assert isinstance(_ledger, Table)
assert isinstance(_consents, Table)

#: The consent ledger: every column is hashed; reports name the entry's ``consent_id``.
LEDGER = ChainSpec("consent", _ledger, chain_fields(_ledger), label="consent_id")


def append_event(
    session: Session,
    actor: Actor,
    consent: Consent,
    event: Event,
    at: datetime,
    *,
    application: str | None = None,
    note: str = "",
) -> ConsentLedgerEntry:
    """Write one ledger entry for ``consent`` (already flushed, so it has its id), in the
    caller's transaction; the consent's terms are copied onto the entry."""
    entry = ConsentLedgerEntry(
        at=at,
        event=event,
        consent_id=consent.id,
        uscc=consent.uscc,
        bank_code=consent.bank_code,
        scope=consent.scope,
        sections=consent.sections,
        expires_at=consent.expires_at,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_role=str(actor.role),
        user_id=actor.user_id,
        application=application,
        note=note,
    )
    append(session, LEDGER, entry)
    return entry


def entries_of(session: Session, consent_id: int) -> list[ConsentLedgerEntry]:
    """The ledger entries of one consent, oldest first (whoever asks may see the consent:
    the caller checks that)."""
    return list(
        session.scalars(
            select(ConsentLedgerEntry)
            .where(ConsentLedgerEntry.consent_id == consent_id)
            .order_by(ConsentLedgerEntry.seq)
        )
    )


# --------------------------------------------------------------------------- projection


@dataclass(frozen=True)
class ProjectionReport:
    """``consents`` compared with the ledger: how many consents, and the first that differs."""

    consents: int
    broken: Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _shown(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    return "∅" if value is None else repr(value) if isinstance(value, str) else str(value)


def _differs(name: str, consent_id: int, ledger: Any, seq: int | None, kept: Any) -> Break:
    where = f"seq {seq}" if seq is not None else "∅"
    return Break(
        "consents",
        seq,
        consent_id,
        "projection",
        f"授权 {consent_id} 的现状与账本不符：{name} 在 consents 中为 {_shown(kept)}，"
        f"账本（{where}）为 {_shown(ledger)}",
        f"consent {consent_id} does not match the ledger: {name} is {_shown(kept)} in "
        f"consents but {_shown(ledger)} in the ledger ({where})",
    )


def check_projection(session: Session) -> ProjectionReport:
    """Whether every row of ``consents`` is what its ledger entries imply, in three SQL
    queries (no row-by-row walk): each consent has exactly one grant and at most one
    revoke, every entry names a consent that exists, and each consent's columns equal its
    grant's (``granted_at`` = the grant's ``at``, ``granted_by`` = its ``user_id``) and
    ``revoked_at`` its revoke's ``at`` (None without one). The first difference found, by
    consent id, is reported with the column that differs."""
    count = int(session.scalar(select(func.count()).select_from(_consents)) or 0)
    c, ledger = _consents.c, _ledger.c
    twice = session.execute(
        select(ledger.consent_id, ledger.event, func.min(ledger.seq), func.count())
        .group_by(ledger.consent_id, ledger.event)
        .having(func.count() > 1)
        .order_by(ledger.consent_id)
        .limit(1)
    ).first()
    if twice is not None:
        consent_id, event, seq, times = twice
        return ProjectionReport(
            count,
            Break(
                "consents",
                int(seq),
                int(consent_id),
                "projection",
                f"授权 {consent_id} 在账本中有 {times} 条 {event} 记录（应至多一条）",
                f"consent {consent_id} has {times} {event} entries in the ledger (one at most)",
            ),
        )
    orphan = session.execute(
        select(ledger.seq, ledger.consent_id)
        .select_from(_ledger.outerjoin(_consents, c.id == ledger.consent_id))
        .where(c.id.is_(None))
        .order_by(ledger.seq)
        .limit(1)
    ).first()
    if orphan is not None:
        seq, consent_id = orphan
        return ProjectionReport(
            count,
            Break(
                "consents",
                int(seq),
                int(consent_id),
                "projection",
                f"账本第 {seq} 条记录的授权 {consent_id} 不在 consents 中（被删除）",
                f"ledger entry seq {seq} is about consent {consent_id}, which is not in "
                "consents (deleted)",
            ),
        )
    grant, revoke = _ledger.alias("g"), _ledger.alias("r")
    # (projection column, what the grant says) and the terms the revoke repeats.
    from_grant: list[tuple[str, ColumnElement[Any], ColumnElement[Any]]] = [
        ("uscc", c.uscc, grant.c.uscc),
        ("bank_code", c.bank_code, grant.c.bank_code),
        ("scope", c.scope, grant.c.scope),
        ("sections", c.sections, grant.c.sections),
        ("granted_at", c.granted_at, grant.c.at),
        ("expires_at", c.expires_at, grant.c.expires_at),
        ("granted_by", c.granted_by, grant.c.user_id),
        ("note", c.note, grant.c.note),
    ]
    from_revoke: list[tuple[str, ColumnElement[Any], ColumnElement[Any]]] = [
        ("uscc", c.uscc, revoke.c.uscc),
        ("bank_code", c.bank_code, revoke.c.bank_code),
        ("scope", c.scope, revoke.c.scope),
        ("sections", c.sections, revoke.c.sections),
        ("expires_at", c.expires_at, revoke.c.expires_at),
    ]
    mismatch = or_(
        grant.c.seq.is_(None),
        c.revoked_at.is_distinct_from(revoke.c.at),
        *(kept.is_distinct_from(said) for _, kept, said in from_grant),
        and_(
            revoke.c.seq.is_not(None),
            or_(*(kept.is_distinct_from(said) for _, kept, said in from_revoke)),
        ),
    )
    columns: list[ColumnElement[Any]] = [c.id, c.revoked_at, grant.c.seq, revoke.c.seq, revoke.c.at]
    for _, kept, said in (*from_grant, *from_revoke):
        columns += [kept, said]
    row = session.execute(
        select(*columns)
        .select_from(
            _consents.outerjoin(
                grant, and_(grant.c.consent_id == c.id, grant.c.event == "grant")
            ).outerjoin(revoke, and_(revoke.c.consent_id == c.id, revoke.c.event == "revoke"))
        )
        .where(mismatch)
        .order_by(c.id)
        .limit(1)
    ).first()
    if row is None:
        return ProjectionReport(count, None)
    consent_id, revoked_at, grant_seq, revoke_seq, revoke_at = row[:5]
    if grant_seq is None:
        return ProjectionReport(
            count,
            Break(
                "consents",
                None,
                int(consent_id),
                "projection",
                f"授权 {consent_id} 在账本中没有授予记录",
                f"consent {consent_id} has no grant entry in the ledger",
            ),
        )
    pairs = row[5:]
    for index, (name, _, _) in enumerate(from_grant):
        kept, said = pairs[2 * index], pairs[2 * index + 1]
        if kept != said:
            return ProjectionReport(count, _differs(name, consent_id, said, grant_seq, kept))
    if revoked_at != revoke_at:
        return ProjectionReport(
            count, _differs("revoked_at", consent_id, revoke_at, revoke_seq, revoked_at)
        )
    offset = 2 * len(from_grant)
    for index, (name, _, _) in enumerate(from_revoke):
        kept, said = pairs[offset + 2 * index], pairs[offset + 2 * index + 1]
        if kept != said:
            return ProjectionReport(count, _differs(name, consent_id, said, revoke_seq, kept))
    # Equal as values, different as stored (a time written in another text form on SQLite).
    return ProjectionReport(
        count,
        Break(
            "consents",
            int(grant_seq),
            int(consent_id),
            "projection",
            f"授权 {consent_id} 的存储值与账本不一致（格式被改动）",
            f"consent {consent_id} is stored differently from the ledger (a value's stored "
            "form was changed)",
        ),
    )
