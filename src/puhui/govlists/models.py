"""App-database tables of government lists (精准推送). Times are naive UTC.

A list (``gov_lists``) has members (``gov_list_members``, one row per business, unique per
list) and is pushed to banks (``gov_list_pushes``, one row per bank, the latest push time).
``created_by`` / ``pushed_by`` are the user who did it, None when the platform did (a CLI
command); the audit log names every actor either way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db import Base


class GovList(Base):
    """A government list of businesses: its code (unique), name, kind and status.

    ``criteria`` is the filter the list was last defined by (industries, districts, entity
    types, tiers), None for a list that was only uploaded.
    """

    __tablename__ = "gov_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    criteria: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_by: Mapped[int | None] = mapped_column(Integer, ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class GovListMember(Base):
    """One business on a list: when it was added, how (``upload`` or ``filter``), a note."""

    __tablename__ = "gov_list_members"
    __table_args__ = (UniqueConstraint("list_id", "uscc", name="uq_gov_list_members_list_uscc"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    list_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("gov_lists.id", ondelete="CASCADE"), index=True
    )
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    added_at: Mapped[datetime] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(String(16), default="upload")
    note: Mapped[str] = mapped_column(String(500), default="")


class GovListPush(Base):
    """A list pushed to one bank: the bank sees the list and its members from then on."""

    __tablename__ = "gov_list_pushes"
    __table_args__ = (
        UniqueConstraint("list_id", "bank_code", name="uq_gov_list_pushes_list_bank"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    list_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("gov_lists.id", ondelete="CASCADE"), index=True
    )
    bank_code: Mapped[str] = mapped_column(String(32), ForeignKey("banks.code"), index=True)
    pushed_at: Mapped[datetime] = mapped_column(DateTime)
    pushed_by: Mapped[int | None] = mapped_column(Integer, ForeignKey("users.id"), default=None)
