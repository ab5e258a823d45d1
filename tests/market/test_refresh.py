"""Refreshing on a real scored region (6,000 simulated businesses): counts and white lists
checked against the warehouse by plain SQL, and on-demand matching against the full pass."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pytest
from sqlalchemy.orm import Session

from puhui.errors import PuhuiError
from puhui.market import matching, service
from puhui.market.matching import TARGETING
from puhui.pagination import PageRequest
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
    return service.list_matches(session, OPERATOR, product_id, PageRequest(size=1)).total


def test_refresh_matches_the_region_as_plain_sql_says(
    session: Session, scored: duckdb.DuckDBPyConnection, tmp_path: Path
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

    run = service.refresh_matches(scored, session, AS_OF, directory=tmp_path)
    businesses = _count(scored, "true")
    assert (run.products, run.businesses) == (2, businesses)
    assert run.path.parent == tmp_path.resolve()
    assert run.path.exists()

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
    current = service.current_run(session)
    assert current is not None
    counts = service.match_counts(session, current)
    assert {pid: e for pid, (e, _n) in counts.items()} == {
        broad.id: _eligible(session, broad.id),
        strict.id: expected_strict,
    }
    assert sum(n for _e, n in counts.values()) == run.near_misses > 0

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
    some = [u for (u,) in scored.sql("SELECT uscc FROM scores ORDER BY uscc LIMIT 300").fetchall()]
    near = [
        m
        for u in some
        for m in service.business_products(session, OPERATOR, u).items
        if not m.eligible
    ]
    assert near
    assert all(len(m.reasons) == 1 and m.reasons[0] not in TARGETING for m in near)

    # A second refresh replaces, and a withdrawn product drops out; small chunks agree. The
    # run before the previous one loses its row; its file, and a file no row ever named (a
    # refresh that rolled back), go once they are old enough — never while young.
    service.withdraw_product(session, OPERATOR, broad.id)
    again = service.refresh_matches(scored, session, AS_OF, directory=tmp_path, chunk_rows=1000)
    assert (again.products, again.eligible) == (1, expected_strict)
    first = sorted(set(tmp_path.glob("*.arrow")) - {again.path})
    rolled_back = tmp_path / "rolled-back.arrow"
    rolled_back.write_bytes(b"")
    third = service.refresh_matches(scored, session, AS_OF, directory=tmp_path)
    assert len(first) == 1
    assert first[0].exists()  # its row is gone, but the file is still young
    swept = service.sweep_run_files(session, tmp_path, min_age_seconds=0)
    assert sorted(swept) == sorted([first[0].resolve(), rolled_back.resolve()])
    assert sorted(tmp_path.glob("*.arrow")) == sorted([again.path, third.path])
    assert _eligible(session, strict.id) == expected_strict


def _full_pass_white_list(
    found: matching.Matches, usccs: list[str], column: int
) -> list[tuple[str, Decimal]]:
    """The old refresh's white list of one product: every eligible pair of the full pass,
    largest limit first, then uscc."""
    rows = np.flatnonzero(found.failures[:, column] == 0)
    pairs = [(usccs[r], service.money(float(found.limit[r, column]))) for r in rows.tolist()]
    return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))


def test_on_demand_matching_equals_the_full_pass(
    session: Session, scored: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """For every product, the white list paged on demand is exactly the set of businesses
    the full region × products pass marks eligible, with the same limits in the same order;
    a business's ranked products are the full pass's eligible and near-miss columns."""
    districts = sorted(
        {d for (d,) in scored.sql("SELECT DISTINCT district FROM features LIMIT 3").fetchall() if d}
    )
    products = [
        make_product(session, "BANKA"),
        make_product(session, "BANKA", amount_max=Decimal("100000"), min_score=550.0),
        make_product(session, "BANKB", tiers=["growth"], max_pd=0.05, popularity=30),
        make_product(session, "BANKB", districts=districts[:2], min_age_years=1.0),
        make_product(session, "BANKA", entity_types=["individual"], exclude_dishonest=False),
        make_product(session, "BANKB", policy_lists=["high_tech", "specialized"]),
    ]
    service.refresh_matches(scored, session, AS_OF, directory=tmp_path)

    region = service.read_inputs(scored, AS_OF, "platform")
    usccs = [u.decode() for u in region.uscc.tolist()]
    rules = service.product_rules(products)
    full = matching.match(rules, region)
    for column, product in enumerate(products):
        expected = _full_pass_white_list(full, usccs, column)
        shown: list[tuple[str, Decimal]] = []
        page = 1
        while True:
            result = service.list_matches(
                session, OPERATOR, product.id, PageRequest(page=page, size=100)
            )
            assert result.total == len(expected)
            shown += [(m.uscc, m.pre_credit_limit) for m in result.items]
            if page * 100 >= result.total:
                break
            page += 1
        assert shown == expected

    ids = np.asarray([p.id for p in products])
    for row in np.linspace(0, len(usccs) - 1, 40).astype(int).tolist():
        failures = full.failures[row]
        keep = np.flatnonzero((failures == 0) | matching.near_miss(failures))
        order = keep[matching.rank(failures[keep] == 0, full.fit[row, keep], ids[keep])]
        ranked = service.business_products(
            session, OPERATOR, usccs[row], PageRequest(size=100)
        ).items
        assert [m.product_id for m in ranked] == ids[order].tolist()
        assert [m.fit for m in ranked] == pytest.approx(full.fit[row, order].tolist(), abs=1e-6)


def test_refresh_needs_scores_of_the_date(
    session: Session,
    warehouse: duckdb.DuckDBPyConnection,  # noqa: F811
    banks: tuple[str, str],
    tmp_path: Path,
) -> None:
    with pytest.raises(PuhuiError, match="run puhui score --as-of 2026-06-30"):
        service.refresh_matches(warehouse, session, AS_OF, directory=tmp_path / "market")
    assert not (tmp_path / "market").exists()
