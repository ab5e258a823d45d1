"""App-database tables of the features domain."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db import Base


class Profile(Base):
    """The published credit profile (画像) of one business: the latest ``puhui publish``.

    ``document`` is the JSON text assembled in the warehouse (see
    :mod:`puhui.features.profile`); it is stored as text, as built, so that publishing a
    region never parses a million documents and reading one parses only that one.
    """

    __tablename__ = "profiles"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(200))
    entity_type: Mapped[str] = mapped_column(String(16))
    district: Mapped[str] = mapped_column(String(6), index=True)
    industry_code: Mapped[str] = mapped_column(String(4))
    document: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(DateTime)
