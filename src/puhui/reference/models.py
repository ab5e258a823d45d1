"""Reference tables shared by every domain."""

from __future__ import annotations

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db import Base


class Division(Base):
    """One administrative division code (GB/T 2260) with the years it was in use.

    A code can be reused for a different place over the years (e.g. 332600 was 丽水地区 and
    then 台州地区), so a row is one (code, period) and ``valid_from``/``valid_to`` are the
    first and last year of that use (``None`` where open).
    """

    __tablename__ = "ref_divisions"
    __table_args__ = (UniqueConstraint("code", "valid_from", "name", name="uq_ref_divisions_use"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))  # province / prefecture / county
    province_code: Mapped[str] = mapped_column(String(6))
    prefecture_code: Mapped[str | None] = mapped_column(String(6))
    valid_from: Mapped[int | None] = mapped_column(Integer)
    valid_to: Mapped[int | None] = mapped_column(Integer)


class Industry(Base):
    """One node of the GB/T 4754-2017 classification: section, division, group or class."""

    __tablename__ = "ref_industries"

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))  # section / division / group / class
    name_zh: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str | None] = mapped_column(String(256))
    parent_code: Mapped[str | None] = mapped_column(String(4), index=True)
