"""Features: the registry, golden values on a hand-made business, point-in-time
correctness on a simulated region, and the same table on Spark."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from puhui.errors import PuhuiError
from puhui.features.docs import render_markdown
from puhui.features.pipeline import SOURCE_TABLES, _missing_not_nan, features_sql
from puhui.features.registry import feature_names, features
from puhui.features.service import compute_features, export_features
from puhui.ingest.warehouse import connect
from tests.conftest import WAREHOUSE_KEY

DOCS = Path(__file__).parents[2] / "docs" / "features.md"


def test_registry_has_documented_unique_features() -> None:
    names = feature_names()
    assert len(names) >= 40
    assert len(set(names)) == len(names)
    for block, feature in features():
        assert feature.zh
        assert feature.en
        assert feature.window
        assert block.sources
        assert feature.name.isidentifier()


def test_docs_are_rendered_from_the_registry() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_markdown(), (
        "docs/features.md is stale: python -m puhui.features.docs > docs/features.md"
    )


# --------------------------------------------------------------------------- golden values

USCC = "91331002MA2ABCDE1X"
OTHER = "92331002MA2ABCDE2Y"
REP = "rep-hash-1"


@pytest.fixture
def tiny(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(tmp_path / "w.duckdb", WAREHOUSE_KEY)
    yield con
    con.close()


def insert(con: duckdb.DuckDBPyConnection, feed: str, **values: Any) -> None:
    """A row of ``feed_<feed>``: the given columns, lineage filled in."""
    values = {"_delivery_id": "t", "_file": "t", "_row": 1, "_row_hash": 1, **values}
    names = ", ".join(f'"{k}"' for k in values)
    marks = ", ".join(f"${i + 1}" for i in range(len(values)))
    con.execute(
        f"INSERT INTO feed_{feed} ({names}, _loaded_at) VALUES ({marks}, now())",
        list(values.values()),
    )


def register(con: duckdb.DuckDBPyConnection, uscc: str, established: date, **extra: Any) -> None:
    row = {
        "uscc": uscc, "name": "n", "entity_type": "enterprise", "legal_rep": "r",
        "legal_rep_id_hash": REP, "industry_code": "6210", "established": established,
        "status": "active", "division": "331002", "address": "a",
    }  # fmt: skip
    insert(con, "registrations", **(row | extra))


def link(con: duckdb.DuckDBPyConnection, feed: str, key: str, uscc: str) -> None:
    con.execute(
        "INSERT INTO links VALUES ($1, $2, 'none', $3, 'probabilistic', 0.9, 'linked',"
        " NULL, NULL, NULL)",
        [feed, key, uscc],
    )


def one(con: duckdb.DuckDBPyConnection, as_of: date, uscc: str = USCC) -> dict[str, Any]:
    frame = con.sql(features_sql(as_of)).df()
    return dict(frame[frame.uscc == uscc].iloc[0])


def test_golden_values_of_a_hand_made_business(tiny: duckdb.DuckDBPyConnection) -> None:
    as_of = date(2025, 7, 10)
    register(tiny, USCC, date(2020, 7, 10), registered_capital=100)
    register(tiny, OTHER, date(2022, 1, 1), status="cancelled", closed_on=date(2024, 3, 1))
    # Revenue 100 a month for months 2024-07 … 2024-12, then 200 from 2025-01 to 2025-06;
    # 2025-07 (the as-of month) is not yet past and must not count.
    for month, revenue in [(f"2024-{m:02d}", 100) for m in range(7, 13)] + [
        (f"2025-{m:02d}", 200) for m in range(1, 8)
    ]:
        arrears = 50 if month in ("2025-05", "2025-06") else 0
        insert(tiny, "tax", uscc=USCC, period=month, revenue=revenue, tax_paid=1, arrears=arrears)
    insert(tiny, "penalties", decision_no="P1", name="n", authority="x",
           decided_on=date(2025, 1, 5), kind="fine", amount=300, serious=True)  # fmt: skip
    insert(tiny, "penalties", decision_no="P2", name="n", authority="x",
           decided_on=date(2025, 7, 10), kind="fine", amount=900, serious=True)  # fmt: skip
    link(tiny, "penalties", "P1", USCC)
    link(tiny, "penalties", "P2", USCC)  # decided on the as-of day: not yet before it
    insert(tiny, "court", case_no="C1", party_name="n", role="dishonest",
           filed_on=date(2025, 2, 1), amount=1000, closed_on=date(2025, 8, 1))  # fmt: skip
    link(tiny, "court", "C1|n", USCC)
    insert(tiny, "abnormal", uscc=USCC, listed_on=date(2024, 1, 1), reason="r",
           removed_on=date(2024, 6, 1))  # fmt: skip
    insert(tiny, "loans", bank="B", loan_id="L1", borrower_id=USCC, product="p",
           guarantee="credit", amount=1000, rate=5.0, start=date(2024, 1, 1),
           maturity=date(2026, 1, 1), first_loan=True, status="default", max_dpd=400,
           default_on=date(2025, 7, 1))  # fmt: skip
    insert(tiny, "honors", uscc=USCC, tag="专精特新", year=2024)
    insert(tiny, "honors", uscc=USCC, tag="高新技术企业", year=2025)  # this year: not yet

    f = one(tiny, as_of)
    assert f["age_years"] == pytest.approx(1826 / 365.25)
    assert f["registered_capital_wan"] == 100
    assert f["revenue_avg_3m"] == pytest.approx(200)
    assert f["revenue_avg_12m"] == pytest.approx((6 * 100 + 6 * 200) / 12)
    assert f["revenue_trend_6m"] == pytest.approx(1.0)  # 200 against 100
    assert f["revenue_trend_3m"] == pytest.approx(0.0)
    assert np.isnan(f["revenue_trend_12m"])  # no revenue 13-24 months back
    assert f["tax_arrears_months_12m"] == 2
    assert f["tax_arrears_latest"] == 50
    assert f["tax_months_reported_12m"] == 12
    assert f["penalties_12m"] == 1
    assert f["penalties_serious_12m"] == 1
    assert f["penalty_amount_12m"] == 300
    assert f["dishonest_active"] == 1  # closed after the as-of date: still listed then
    assert f["court_executed_24m"] == 1
    assert f["court_open_amount"] == 1000
    assert f["abnormal_active"] == 0
    assert f["abnormal_listings"] == 1
    assert f["loans_prior"] == 1
    assert f["loans_outstanding"] == 0  # in default since 2025-07-01
    assert f["defaults_prior"] == 1
    assert f["worst_dpd_known"] == 99  # 90 days + 9 days since the default
    assert f["honor_specialized"] == 1
    assert f["honor_high_tech"] == 0
    assert f["utility_accounts"] == 0
    assert f["rep_other_businesses"] == 1
    assert f["rep_other_cancelled"] == 1
    other = one(tiny, as_of, OTHER)
    assert other["is_cancelled"] == 1
    assert other["rep_other_dishonest_or_default"] == 1  # USCC is in default
    # A business established on the as-of date does not exist yet.
    assert set(tiny.sql(features_sql(date(2020, 7, 10))).df().uscc) == set()


def test_features_need_links_first(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb", WAREHOUSE_KEY)
    with pytest.raises(PuhuiError, match="link"):
        compute_features(con, date(2025, 1, 1))
    con.close()


# --------------------------------------------------------------------------- point in time

AS_OF = date(2025, 10, 15)

#: What the warehouse would have held on AS_OF: rows dated later removed, dates of later
#: events (closings, removals, payments, defaults) not yet known.
_BEFORE_AS_OF = [
    "DELETE FROM feed_registrations WHERE established >= {d}",
    "UPDATE feed_registrations SET status = 'active', closed_on = NULL WHERE closed_on >= {d}",
    "DELETE FROM feed_tax WHERE period >= '2025-10'",
    "DELETE FROM feed_social_insurance WHERE period >= '2025-10'",
    "DELETE FROM feed_utilities WHERE period >= '2025-10'",
    "DELETE FROM feed_tax_grade WHERE year >= 2025",
    "DELETE FROM feed_honors WHERE year >= 2025",
    "DELETE FROM feed_carbon WHERE year >= 2025",
    "DELETE FROM feed_penalties WHERE decided_on >= {d}",
    "DELETE FROM feed_court WHERE filed_on >= {d}",
    "UPDATE feed_court SET closed_on = NULL WHERE closed_on >= {d}",
    "DELETE FROM feed_abnormal WHERE listed_on >= {d}",
    "UPDATE feed_abnormal SET removed_on = NULL WHERE removed_on >= {d}",
    "DELETE FROM feed_property WHERE regexp_extract(cert_no, '（([0-9]{{4}})）', 1) >= '2025'",
    "DELETE FROM feed_loans WHERE start >= {d}",
    "UPDATE feed_loans SET default_on = NULL WHERE default_on >= {d}",
    "DELETE FROM feed_orders WHERE ordered_on >= {d}",
    "UPDATE feed_orders SET paid_on = NULL WHERE paid_on >= {d}",
]


def _table(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    return con.sql(features_sql(as_of)).df().sort_values("uscc").reset_index(drop=True)


def assert_same_table(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Value by value: numbers to 1e-9 relative, everything else exactly, NULL = NULL."""
    assert list(left.columns) == list(right.columns)
    assert len(left) == len(right)
    for column in left.columns:
        a, b = left[column], right[column]
        if column == "as_of":  # a date: pandas and Spark give it different types
            a, b = pd.to_datetime(a).dt.date, pd.to_datetime(b).dt.date
        numeric = pd.api.types.is_numeric_dtype(a) or pd.api.types.is_numeric_dtype(b)
        if numeric and column != "uscc":
            x = pd.to_numeric(a, errors="raise").astype(float).to_numpy()
            y = pd.to_numeric(b, errors="raise").astype(float).to_numpy()
            same = np.isclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True)
        else:
            x_text = a.astype(object).where(a.notna(), None).map(str)
            y_text = b.astype(object).where(b.notna(), None).map(str)
            same = (x_text == y_text).to_numpy()
        assert same.all(), (column, left[~same].head(3), right[~same].head(3))


def test_data_dated_after_the_as_of_date_changes_no_feature(
    linked_region: tuple[Path, Path], tmp_path: Path
) -> None:
    """The region runs to 2026-06-30; features as of 2025-10-15 must be the same whether
    or not the warehouse holds everything that happened after that day."""
    con = connect(linked_region[1], WAREHOUSE_KEY)
    full = _table(con, AS_OF)
    con.close()
    copy = tmp_path / "then.duckdb"
    shutil.copy(linked_region[1], copy)
    con = connect(copy, WAREHOUSE_KEY)
    day = f"DATE '{AS_OF.isoformat()}'"
    removed = 0
    for statement in _BEFORE_AS_OF:
        removed += con.execute(statement.format(d=day)).fetchall()[0][0]
    then = _table(con, AS_OF)
    con.close()
    assert removed > 10_000  # the test removes a great deal, not nothing
    assert len(full) > 4000
    assert_same_table(full, then)


def test_compute_and_export(linked_region: tuple[Path, Path], tmp_path: Path) -> None:
    copy = tmp_path / "w.duckdb"
    shutil.copy(linked_region[1], copy)
    con = connect(copy, WAREHOUSE_KEY)
    count = compute_features(con, AS_OF)
    assert count == compute_features(con, AS_OF)  # recomputing replaces, never adds
    out = tmp_path / "f.parquet"
    assert export_features(con, date(2026, 6, 30), out) > count  # computed on demand
    con.close()
    exported = pd.read_parquet(out)
    assert list(exported.columns) == ["as_of", "uscc", *feature_names()]
    assert exported.uscc.is_unique
    numbers = exported[[f.name for _, f in features() if f.kind == "number"]].astype("float64")
    assert not np.isnan(numbers.to_numpy()[numbers.notna().to_numpy()]).any()


def test_a_nan_feature_is_stored_as_missing() -> None:
    """Scoring relies on it (``Scorecard.score_sql(nan_free=True)``)."""
    con = duckdb.connect()
    value, count = con.sql(
        f"SELECT {_missing_not_nan('0.0::DOUBLE / 0.0::DOUBLE AS ratio')},"
        f" {_missing_not_nan('count(*) AS n')} FROM range(3)"
    ).fetchall()[0]
    con.close()
    assert value is None
    assert count == 3


# --------------------------------------------------------------------------- Spark


@pytest.mark.spark
def test_spark_gives_the_same_features(linked_region: tuple[Path, Path], tmp_path: Path) -> None:
    from puhui.features.service import features_on_spark
    from puhui.spark import spark_session

    con = connect(linked_region[1], WAREHOUSE_KEY)
    expected = _table(con, AS_OF)
    for table in SOURCE_TABLES:
        # The extra JSON column is not read by the features, and Parquet has no JSON type.
        columns = "* EXCLUDE (extra)" if table.startswith("feed_") else "*"
        con.execute(
            f"COPY (SELECT {columns} FROM {table}) TO '{tmp_path / table}.parquet' (FORMAT parquet)"
        )
    con.close()
    spark = spark_session()
    for table in SOURCE_TABLES:
        spark.read.parquet(str(tmp_path / f"{table}.parquet")).createOrReplaceTempView(table)
    frame = features_on_spark(spark, AS_OF).toArrow().to_pandas()
    got = frame.sort_values("uscc").reset_index(drop=True)
    assert_same_table(expected, got)
