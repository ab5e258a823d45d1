"""App-database tables of the consent domain. Times are naive UTC.

``consent_ledger`` is the record: an append-only hash chain of every grant and revoke.
``consents`` is its current-state projection, kept for fast queries; every change to it is
written with its ledger entry in the same transaction, and ``puhui audit verify`` checks
that the two agree (docs/consent.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db import Base


class Consent(Base):
    """A business (``uscc``) lets a bank read the ``sections`` of its data of one ``scope``
    until ``expires_at``.

    Revoking sets ``revoked_at``; rows are never deleted, so the audit can say what was
    allowed when. ``granted_by`` is the user who granted it (the business's own user or an
    operator acting for it), None when the platform itself did (a CLI command).
    ``sections`` is a comma-separated list of profile sections in the order of
    :data:`puhui.features.profile.PROFILE_SECTIONS`.
    """

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_lookup", "bank_code", "uscc", "scope", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    bank_code: Mapped[str] = mapped_column(String(32), ForeignKey("banks.code"), index=True)
    scope: Mapped[str] = mapped_column(String(32))
    granted_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    granted_by: Mapped[int | None] = mapped_column(Integer, ForeignKey("users.id"), default=None)
    note: Mapped[str] = mapped_column(String(500), default="")
    sections: Mapped[str] = mapped_column(String(200))

    @property
    def section_list(self) -> tuple[str, ...]:
        return tuple(part for part in self.sections.split(",") if part)


class ConsentLedgerEntry(Base):
    """One event of a consent (``grant``, ``revoke``), never changed or deleted.

    A hash chain (:mod:`puhui.accounts.chain`): ``seq`` 1, 2, 3, …; ``prev_hash`` the
    previous entry's ``entry_hash``; ``entry_hash`` the SHA-256 of the canonical JSON of
    every other column. On PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE; on
    SQLite only ``puhui audit verify`` finds a change.

    ``at`` is when it happened (the consent's ``granted_at`` or ``revoked_at``); the
    consent's terms (``uscc`` … ``expires_at``) are repeated on every event, so each entry
    reads on its own. ``user_id`` is the acting user (the projection's ``granted_by``),
    None for a bank's system or the platform. ``application`` is the application number the
    consent was given for, if any.
    """

    __tablename__ = "consent_ledger"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime)
    event: Mapped[str] = mapped_column(String(16))
    consent_id: Mapped[int] = mapped_column(Integer, ForeignKey("consents.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18))
    bank_code: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(32))
    sections: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    application: Mapped[str | None] = mapped_column(String(32), default=None)
    note: Mapped[str] = mapped_column(String(500), default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
