"""Refreshing the white lists on a real scored region (6,000 simulated businesses), checked
against the warehouse by plain SQL; and ``puhui market refresh`` / ``puhui products create``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from puhui.errors import PuhuiError
from puhui.market import service
from puhui.market.models import ProductMatch
from puhui.scoring import service as scoring
from puhui.scoring.policy import load_policy
from puhui.scoring.training import TrainingSet
from tests.market.factories import OPERATOR, make_product
from tests.scoring.conftest import (  # noqa: F401  (fixtures)
    AS_OF,
    featured_warehouse,
    training_set,
    warehouse,
)


@pytest.fixture
def scored(
    session: Session,
    training_set: TrainingSet,  # noqa: F811
    warehouse: duckdb.DuckDBPyConnection,  # noqa: F811
    tmp_path: Path,
    banks: tuple[str, str],
) -> duckdb.DuckDBPyConnection:
    scoring.fit_and_register(session, training_set, tmp_path / "models")
    scoring.score_region(warehouse, session, AS_OF, load_policy())
    return warehouse


def _count(con: duckdb.DuckDBPyConnection, where: str) -> int:
    found = con.sql(
        "SELECT count(*) FROM scores s JOIN features f ON f.uscc = s.uscc AND f.as_of = s.as_of"
        f" WHERE s.as_of = $1 AND s.role = 'champion' AND {where}",
        params=[AS_OF],
    ).fetchall()
    return int(found[0][0])


def _eligible(session: Session, product_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).where(ProductMatch.product_id == product_id, ProductMatch.eligible)
        )
        or 0
    )


def test_refresh_matches_the_region_as_plain_sql_says(
    session: Session, scored: duckdb.DuckDBPyConnection
) -> None:
    broad = make_product(
        session, exclude_dishonest=False, exclude_abnormal=False, amount_min=Decimal("10000")
    )
    strict = make_product(
        session,
        "BANKB",
        amount_min=Decimal("50000"),
        amount_max=Decimal("200000"),
        tiers=["development", "growth"],
        entity_types=["enterprise"],
        min_credit_points=620,
        max_pd=0.04,
        min_age_years=2,
    )
    draft = make_product(session, publish=False)

    run = service.refresh_matches(scored, session, AS_OF)
    businesses = _count(scored, "true")
    assert (run.products, run.businesses) == (2, businesses)

    assert _eligible(session, broad.id) == _count(scored, "s.pre_credit_limit >= 10000")
    expected_strict = _count(
        scored,
        "s.pre_credit_limit >= 50000 AND s.tier IN ('development', 'growth')"
        " AND f.entity_type = 'enterprise' AND s.credit_points >= 620 AND s.pd <= 0.04"
        " AND f.age_years >= 2 AND coalesce(f.dishonest_active, 0) = 0"
        " AND coalesce(f.abnormal_active, 0) = 0",
    )
    assert 0 < expected_strict < _eligible(session, broad.id)
    assert _eligible(session, strict.id) == expected_strict
    assert _eligible(session, draft.id) == 0
    assert run.eligible == _eligible(session, broad.id) + expected_strict

    # Limits are the business's pre-credit limit capped at the product's maximum.
    limits = dict(
        scored.sql(
            "SELECT uscc, pre_credit_limit FROM scores WHERE as_of = $1 AND role = 'champion'",
            params=[AS_OF],
        ).fetchall()
    )
    white = service.list_matches(session, OPERATOR, strict.id).items
    assert white
    assert all(m.eligible for m in white)
    for match in white:
        assert match.pre_credit_limit == min(limits[match.uscc], Decimal("200000"))
        assert Decimal("3.85") <= match.rate <= Decimal("8.00")
    assert [m.pre_credit_limit for m in white] == sorted(
        (m.pre_credit_limit for m in white), reverse=True
    )

    # Near misses fail exactly one rule, never a targeting one.
    near = session.scalars(select(ProductMatch).where(~ProductMatch.eligible)).all()
    assert len(near) == run.near_misses > 0
    assert all(len(m.reasons) == 1 and m.reasons[0] not in {"entity_type"} for m in near)

    # A second refresh replaces, and a withdrawn product drops out; small batches agree.
    service.withdraw_product(session, OPERATOR, broad.id)
    again = service.refresh_matches(scored, session, AS_OF, batch_rows=1000)
    assert again.products == 1
    assert again.eligible == expected_strict
    assert session.scalar(select(func.count()).select_from(ProductMatch)) == (
        expected_strict + again.near_misses
    )


def test_refresh_needs_scores_of_the_date(
    session: Session,
    warehouse: duckdb.DuckDBPyConnection,  # noqa: F811
    banks: tuple[str, str],
) -> None:
    with pytest.raises(PuhuiError, match="run puhui score --as-of 2026-06-30"):
        service.refresh_matches(warehouse, session, AS_OF)
