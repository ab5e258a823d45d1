"""App-database tables of the decisions domain: decisions and the policies they used.

Both tables are append-only: rows are inserted, never changed or deleted. Migration 0011
adds triggers that refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL), so even a
direct SQL session cannot rewrite what was decided. Money is ``Numeric(18, 2)`` yuan;
times naive UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db import Base


class Decision(Base):
    """One decision on one loan request, with everything needed to make it again.

    ``public_id`` (``DC`` + yyyymmdd + 10 random characters) is what the API shows.
    ``features`` is the business's feature vector as decided on (JSON; see
    :func:`puhui.decisions.engine.encode_features`), ``features_as_of`` the date it is
    as of; ``request`` the amount, term and a snapshot of the product's terms;
    ``champion_model_id`` and ``challenger_model_ids`` the registry's models;
    ``policy_version`` and ``policy_fingerprint`` the policy (its text is kept in
    ``policy_versions``); ``result`` the engine's whole answer. ``bank_code`` is the bank
    the decision was made for (it alone, and the operator, may read it).
    ``application_id`` links a decision made for an application (no foreign key: the
    applications domain keeps its own tables).
    """

    __tablename__ = "decisions"
    __table_args__ = (
        Index("ix_decisions_bank_created", "bank_code", "created_at"),
        Index("ix_decisions_uscc_created", "uscc", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    uscc: Mapped[str] = mapped_column(String(18))
    bank_code: Mapped[str | None] = mapped_column(String(32), default=None)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64))
    product_id: Mapped[int | None] = mapped_column(Integer, default=None)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    term_months: Mapped[int | None] = mapped_column(Integer, default=None)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    features: Mapped[dict[str, Any]] = mapped_column(JSON)
    features_as_of: Mapped[date] = mapped_column(Date)
    owner: Mapped[str] = mapped_column(String(32))
    champion_model_id: Mapped[int] = mapped_column(Integer)
    challenger_model_ids: Mapped[list[int]] = mapped_column(JSON)
    policy_version: Mapped[str] = mapped_column(String(64))
    policy_fingerprint: Mapped[str] = mapped_column(String(64))
    engine_version: Mapped[str] = mapped_column(String(16))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[str]] = mapped_column(JSON)
    application_id: Mapped[int | None] = mapped_column(Integer, index=True, default=None)


class PolicyVersion(Base):
    """The text of every credit policy a decision was made with, by its fingerprint.

    ``fingerprint`` is :attr:`puhui.scoring.policy.Policy.fingerprint` (of the parsed
    content); ``text`` the YAML as first used (comments and layout included);
    ``text_sha256`` the hash of that exact text. Written the first time a policy decides.
    """

    __tablename__ = "policy_versions"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(500))
    first_used_at: Mapped[datetime] = mapped_column(DateTime)
