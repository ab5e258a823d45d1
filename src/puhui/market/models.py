"""App-database tables of the market: products and their matches (白名单).

Money is ``Numeric(18, 2)`` yuan, rates ``Numeric(6, 2)`` annual %; times naive UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from puhui.db import Base


class Product(Base):
    """A bank's loan product and its eligibility rules. An empty target list means any."""

    __tablename__ = "products"
    __table_args__ = (Index("ix_products_status_popularity", "status", "popularity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank_code: Mapped[str] = mapped_column(String(32), ForeignKey("banks.code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    amount_min: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    amount_max: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    term_min: Mapped[int] = mapped_column(Integer)
    term_max: Mapped[int] = mapped_column(Integer)
    rate_min: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    rate_max: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    guarantee: Mapped[str] = mapped_column(String(16))
    entity_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    industries: Mapped[list[str]] = mapped_column(JSON, default=list)
    districts: Mapped[list[str]] = mapped_column(JSON, default=list)
    tiers: Mapped[list[str]] = mapped_column(JSON, default=list)
    policy_lists: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_score: Mapped[float | None] = mapped_column(Float, default=None)
    min_credit_points: Mapped[int | None] = mapped_column(Integer, default=None)
    max_pd: Mapped[float | None] = mapped_column(Float, default=None)
    min_age_years: Mapped[float | None] = mapped_column(Float, default=None)
    exclude_dishonest: Mapped[bool] = mapped_column(Boolean, default=True)
    exclude_abnormal: Mapped[bool] = mapped_column(Boolean, default=True)
    instant: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    popularity: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class ProductMatch(Base):
    """One (product, business) pair of the latest refresh: eligible (the white list, with
    the limit and rate offered), or a near miss (``eligible`` false, ``reasons`` the one rule
    that fails). See docs/market.md."""

    __tablename__ = "product_matches"
    __table_args__ = (
        Index("ix_product_matches_uscc", "uscc"),
        # A white-list page: eligible pairs of one product, largest limit first.
        Index(
            "ix_product_matches_white_list",
            "product_id",
            "eligible",
            text("pre_credit_limit DESC"),
            "uscc",
        ),
    )

    product_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    eligible: Mapped[bool] = mapped_column(Boolean)
    fit: Mapped[float] = mapped_column(Float)
    pre_credit_limit: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    rate: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)

    product: Mapped[Product] = relationship(lazy="joined", innerjoin=True)
