"""App-database tables of the market: products, refresh runs and per-product counts.

Matches themselves are not stored: they are computed on demand from the run's file
(docs/market.md).

Money is ``Numeric(18, 2)`` yuan, rates ``Numeric(6, 2)`` annual %; times naive UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
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
)
from sqlalchemy.orm import Mapped, mapped_column

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


class MatchRun(Base):
    """One ``puhui market refresh``: the scoring run it matched (``as_of``, ``owner``), the
    file holding that run's matching inputs (:mod:`puhui.market.region_file`), and the
    government lists pushed at the time (their codes, kinds and banks; their members are
    columns of the file). The latest run is the one matched against. See docs/market.md."""

    __tablename__ = "match_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    as_of: Mapped[date] = mapped_column(Date)
    owner: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(1000))
    businesses: Mapped[int] = mapped_column(Integer)
    products: Mapped[int] = mapped_column(Integer)
    eligible: Mapped[int] = mapped_column(BigInteger)
    near_misses: Mapped[int] = mapped_column(BigInteger)
    government_lists: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ProductMatchCount(Base):
    """How many businesses of a run a product's rules (as published then) make eligible,
    and how many are near misses: the only per-product rows a refresh stores."""

    __tablename__ = "product_match_counts"

    run_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("match_runs.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    eligible: Mapped[int] = mapped_column(Integer)
    near_misses: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class ProductMatch:
    """One business and one product matched on demand against the current run (not a
    table): eligible (on the white list, with the limit and rate offered), or a near miss
    (``reasons``: the one rule that fails; ``pre_credit_limit`` 0 when that rule is
    ``limit``). Money is yuan to the fen, the rate annual %."""

    product: Product
    uscc: str
    as_of: date
    eligible: bool
    fit: float
    pre_credit_limit: Decimal
    rate: Decimal
    reasons: list[str] = field(default_factory=list)

    @property
    def product_id(self) -> int:
        return self.product.id
