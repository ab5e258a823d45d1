"""App-database tables of the consent domain. Times are naive UTC."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db import Base


class Consent(Base):
    """A business (``uscc``) lets a bank read its data of one ``scope`` until ``expires_at``.

    Revoking sets ``revoked_at``; rows are never deleted, so the audit can say what was
    allowed when. ``granted_by`` is the user who granted it (the business's own user or an
    operator acting for it), None when the platform itself did (a CLI command).
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
