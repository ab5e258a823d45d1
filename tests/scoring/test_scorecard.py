"""The scorecard core: golden numbers by hand, agreement with optbinning, SQL equal to numpy
(DuckDB here, Spark in one marked test), the JSON artefact and reason codes."""

from __future__ import annotations

import functools
import json
import math
from dataclasses import replace
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from puhui.engine import to_spark_sql
from puhui.errors import PuhuiError
from puhui.scoring.scorecard import (
    FORMAT_VERSION,
    Bin,
    Scorecard,
    ScorecardParams,
    Variable,
    VariableSelection,
    fit_scorecard,
)

# --- factories --------------------------------------------------------------------------


def make_frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Businesses with revenue (10 % missing), age, a legal form (5 % missing), a copy of
    revenue (to be dropped as correlated) and noise; bads driven by the first three."""
    rng = np.random.default_rng(seed)
    revenue = rng.lognormal(10, 1, n)
    age = rng.integers(0, 30, n).astype(float)
    form = rng.choice(["enterprise", "coop", "individual"], n).astype(object)
    z = -2 - 0.6 * (np.log(revenue) - 10) - 0.05 * age + np.where(form == "coop", 0.8, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    revenue[rng.random(n) < 0.1] = np.nan
    form[rng.random(n) < 0.05] = None
    frame = pd.DataFrame(
        {
            "revenue": revenue,
            "age": age,
            "form": form,
            "revenue_copy": revenue * 1.01,
            "noise": rng.integers(0, 2, n).astype(float),  # a coin: IV near 0
        }
    )
    return frame, y


@pytest.fixture(scope="module")
def fitted() -> tuple[Scorecard, pd.DataFrame, np.ndarray]:
    frame, y = make_frame(4000, seed=7)
    return fit_scorecard(frame, y, categorical=["form"], target="bad_12m", bad_value="1"), frame, y


def _bin(
    kind: str,
    points: float,
    lower: float | None = None,
    upper: float | None = None,
    categories: tuple[str, ...] = (),
    label: str = "",
) -> Bin:
    return Bin(label or kind, kind, lower, upper, categories, 10, 1, 0.1, 0.0, 0.0, points)


def golden() -> Scorecard:
    """A hand-made card: revenue <1000: 10, [1000, 5000): 30, ≥5000: 50, missing 20; form
    enterprise 40, coop or individual 25, missing 20, unseen 20 (the worst)."""
    revenue = Variable(
        "revenue",
        "numerical",
        0.3,
        -0.8,
        "descending",
        (
            _bin("interval", 10, None, 1000.0),
            _bin("interval", 30, 1000.0, 5000.0),
            _bin("interval", 50, 5000.0, None),
            _bin("missing", 20),
        ),
    )
    form = Variable(
        "form",
        "categorical",
        0.1,
        -0.9,
        "categorical",
        (
            _bin("categories", 40, categories=("enterprise",)),
            _bin("categories", 25, categories=("coop", "individual")),
            _bin("missing", 20),
            _bin("other", 20),
        ),
    )
    card = Scorecard(FORMAT_VERSION, ScorecardParams(), (revenue, form), -1.2, "bad", "1", ())
    return card.sealed()


def arrow_table(frame: dict[str, list[Any]]) -> pa.Table:
    """Arrow keeps NaN apart from null, as a warehouse column does."""
    return pa.table(
        {
            name: pa.array(values, pa.string() if name == "form" else pa.float64())
            for name, values in frame.items()
        }
    )


def sql_scores(card: Scorecard, table: pa.Table) -> np.ndarray:
    con = duckdb.connect()
    con.register("t", table)
    rows = con.sql(f"SELECT {card.score_sql()} AS s FROM t").fetchall()
    con.close()
    return np.array([r[0] for r in rows], dtype=np.float64)


# --- golden numbers -----------------------------------------------------------------------

EDGES: dict[str, list[Any]] = {
    "revenue": [-math.inf, 0.0, 999.999, 1000.0, 4999.0, 5000.0, math.inf, math.nan, None],
    "form": ["enterprise", "coop", "individual", None, "farm", "Enterprise", "", "coop"],
}
EDGE_POINTS: dict[str, list[int]] = {
    "revenue": [10, 10, 10, 30, 30, 50, 50, 20, 20],
    "form": [40, 25, 25, 20, 20, 20, 20, 25],
}


@pytest.mark.parametrize("name", ["revenue", "form"])
def test_points_of_every_bin_by_hand(name: str) -> None:
    variable = next(v for v in golden().variables if v.name == name)
    assert variable.points_of(EDGES[name]).tolist() == EDGE_POINTS[name]


def test_score_and_sql_agree_on_the_edges() -> None:
    card = golden()
    frame = {"revenue": EDGES["revenue"][:8], "form": EDGES["form"]}
    expected = np.add(EDGE_POINTS["revenue"][:8], EDGE_POINTS["form"])
    assert card.score(pd.DataFrame(frame)).tolist() == expected.tolist()
    assert sql_scores(card, arrow_table(frame)).tolist() == expected.tolist()


def test_nan_free_sql_agrees_without_nan_and_differs_only_on_nan() -> None:
    card = golden()
    frame = {"revenue": EDGES["revenue"][:8], "form": EDGES["form"]}
    expected = np.add(EDGE_POINTS["revenue"][:8], EDGE_POINTS["form"])
    con = duckdb.connect()
    con.register("t", arrow_table(frame))
    sql = f"SELECT {card.score_sql(nan_free=True)} AS s FROM t"
    got = np.array([r[0] for r in con.sql(sql).fetchall()], dtype=np.float64)
    con.close()
    nan_row = [i for i, v in enumerate(frame["revenue"]) if isinstance(v, float) and math.isnan(v)]
    assert nan_row == [7]
    keep = np.arange(len(expected)) != 7
    assert got[keep].tolist() == expected[keep].tolist()
    assert got[7] != expected[7]  # a NaN is not looked for: inputs must be NaN-free
    assert "isnan" not in card.score_sql(nan_free=True)
    assert "isnan" in card.score_sql()


def plateaus() -> Scorecard:
    """A card whose points repeat: revenue <0: 10, [0, 100) and [100, 500): 30, ≥500: 50,
    missing 50 (as the last bin: a NaN that nan_free leaves untested still scores right);
    flat: 7 everywhere; form enterprise 40, coop or an odd text 25, individual 20 (as
    unseen), missing 30; sector: 5 everywhere."""
    revenue = Variable(
        "revenue",
        "numerical",
        0.3,
        -0.8,
        "ascending",
        (
            _bin("interval", 10, None, 0.0),
            _bin("interval", 30, 0.0, 100.0),
            _bin("interval", 30, 100.0, 500.0),
            _bin("interval", 50, 500.0, None),
            _bin("missing", 50),
        ),
    )
    flat = Variable(
        "flat",
        "numerical",
        0.0,
        -0.1,
        "flat",
        (_bin("interval", 7, None, 1.0), _bin("interval", 7, 1.0, None), _bin("missing", 7)),
    )
    form = Variable(
        "form",
        "categorical",
        0.1,
        -0.9,
        "categorical",
        (
            _bin("categories", 40, categories=("enterprise",)),
            _bin("categories", 25, categories=("coop", "it's \\ odd")),
            _bin("categories", 20, categories=("individual",)),
            _bin("missing", 30),
            _bin("other", 20),
        ),
    )
    sector = Variable(
        "sector",
        "categorical",
        0.0,
        -0.1,
        "categorical",
        (_bin("categories", 5, categories=("farm", "shop")), _bin("missing", 5), _bin("other", 5)),
    )
    variables = (revenue, flat, form, sector)
    return Scorecard(FORMAT_VERSION, ScorecardParams(), variables, -1.2, "bad", "1", ()).sealed()


#: Values on every edge of :func:`plateaus`, and their scores by hand.
PLATEAU_ROWS: dict[str, list[Any]] = {
    "revenue": [-math.inf, -1.0, -0.0, 0.0, 99.9, 100.0, 499.99, 500.0, math.inf, math.nan, None],
    "flat": [0.0, 1.0, None, math.nan, 5.0, -1.0, 2.0, 0.5, math.inf, None, 3.0],
    "form": [
        "enterprise",
        "coop",
        "individual",
        None,
        "farm",
        "",
        "Coop",
        "it's \\ odd",
        None,
        "x",
        None,
    ],
    "sector": ["farm", "shop", None, "x", "farm", "", "shop", None, "farm", "y", None],
}
PLATEAU_SCORES = (
    np.add(
        [10, 10, 30, 30, 30, 30, 30, 50, 50, 50, 50], [40, 25, 20, 30, 20, 20, 20, 25, 30, 20, 30]
    )
    + 7
    + 5
).tolist()


def plateau_table() -> pa.Table:
    return pa.table(
        {
            name: pa.array(values, pa.string() if name in ("form", "sector") else pa.float64())
            for name, values in PLATEAU_ROWS.items()
        }
    )


@pytest.mark.parametrize("nan_free", [False, True])
def test_sql_of_repeated_points_tests_less_and_agrees_everywhere(nan_free: bool) -> None:
    card = plateaus()
    sql = card.points_sql(nan_free=nan_free)
    # Equal neighbours are one test: the missing test and two splits (of three).
    assert sql["revenue"].count("WHEN") == 3
    assert sql["flat"] == "7"
    assert sql["sector"] == "5"
    assert "'enterprise'" in sql["form"]
    assert "'individual'" not in sql["form"]  # worth Other's points: left to coalesce
    assert card.score(pd.DataFrame(PLATEAU_ROWS)).tolist() == PLATEAU_SCORES
    con = duckdb.connect()
    con.register("t", plateau_table())
    got = [r[0] for r in con.sql(f"SELECT {card.score_sql(nan_free=nan_free)} FROM t").fetchall()]
    con.close()
    assert got == PLATEAU_SCORES


def test_pd_follows_the_pdo_scaling() -> None:
    card = golden()  # 600 points at odds 50:1, +40 points doubles the odds
    pd_ = card.pd(np.array([600.0, 640.0, 560.0, 1e9, -1e9]))
    np.testing.assert_allclose(pd_[:3], [1 / 51, 1 / 101, 1 / 26], rtol=1e-12)
    assert pd_[3] == 0.0
    assert pd_[4] == 1.0


def test_pd_sql_equals_pd() -> None:
    card = golden()
    con = duckdb.connect()
    got = con.sql(f"SELECT {card.pd_sql('s')} FROM (VALUES (600.0), (517.0)) v(s)").fetchall()
    np.testing.assert_allclose([r[0] for r in got], card.pd(np.array([600.0, 517.0])), rtol=1e-12)


def test_reasons_by_largest_shortfall_then_variable_order() -> None:
    card = golden()  # best: revenue 50, form 40
    frame = pd.DataFrame(
        {
            "revenue": [5000.0, 100.0, 1000.0, 2000.0],
            "form": ["enterprise", "coop", "farm", None],
        }
    )
    reasons = card.reasons(card.points(frame))
    assert reasons.shape == (4, 3)
    assert reasons.tolist() == [
        [None, None, None],  # every variable in its best bin: nothing to explain
        ["revenue", "form", None],  # short 40 and 15
        ["revenue", "form", None],  # short 20 and 20: a tie keeps variable order
        ["revenue", "form", None],  # short 20 and 20
    ]
    assert (
        card.reasons(card.points(frame), k=1).tolist() == [[None], ["revenue"]] + [["revenue"]] * 2
    )


def test_missing_columns_are_named() -> None:
    with pytest.raises(PuhuiError, match="form"):
        golden().score(pd.DataFrame({"revenue": [1.0]}))


# --- fitting ------------------------------------------------------------------------------


def test_selection_drops_weak_and_correlated_variables(fitted: Any) -> None:
    card, _, _ = fitted
    chosen = {s.name: s for s in card.selection}
    assert set(card.names) == {"revenue", "age", "form"}
    assert not chosen["noise"].selected
    assert chosen["noise"].reason_dropped.startswith("IV ")
    assert chosen["noise"].reason_dropped_zh.startswith("IV ")
    copy = chosen["revenue_copy"]
    assert not copy.selected
    assert copy.reason_dropped.startswith("correlated 1.00 with revenue")
    assert [s.iv for s in card.selection] == sorted((s.iv for s in card.selection), reverse=True)


def test_bins_are_monotonic_and_have_missing_and_other(fitted: Any) -> None:
    card, _, _ = fitted
    for variable in card.variables:
        kinds = [b.kind for b in variable.bins]
        assert kinds.count("missing") == 1
        if variable.dtype == "numerical":
            assert variable.trend in ("ascending", "descending")
            rates = [b.event_rate for b in variable.bins if b.kind == "interval"]
            assert rates in (sorted(rates), sorted(rates, reverse=True))
            assert variable.bins[0].lower is None
            assert variable.bins[kinds.index("missing") - 1].upper is None
        else:
            assert kinds[-1] == "other"
            assert variable.bins[-1].points == variable.worst_points
        assert variable.coefficient < 0  # WoE = ln(%good / %bad): more WoE, fewer bads
        assert all(float(b.points).is_integer() for b in variable.bins)


def test_a_value_on_a_split_falls_where_optbinning_puts_it(fitted: Any) -> None:
    from optbinning import OptimalBinning

    card, frame, y = fitted
    variable = next(v for v in card.variables if v.name == "revenue")
    ob = OptimalBinning(
        "revenue", monotonic_trend="auto_asc_desc", max_n_bins=6, min_bin_size=0.05
    ).fit(frame["revenue"].to_numpy(), y)
    splits = np.asarray(ob.splits, dtype=np.float64)
    assert splits.tolist() == [b.lower for b in variable.bins[1:] if b.kind == "interval"]
    probe = np.concatenate([splits, np.nextafter(splits, -np.inf), [np.nan, -np.inf, np.inf]])
    theirs = ob.transform(probe, metric="woe", metric_missing="empirical")
    np.testing.assert_allclose(variable.woe_of(probe), theirs, rtol=0, atol=1e-12)
    # and the SQL agrees with numpy exactly on those values
    table = arrow_table(
        {"revenue": probe.tolist(), "age": [1.0] * len(probe), "form": ["coop"] * len(probe)}
    )
    np.testing.assert_array_equal(sql_scores(card, table), card.score(table.to_pandas()))


def test_score_equals_optbinnings_scorecard(fitted: Any) -> None:
    from optbinning import BinningProcess
    from optbinning import Scorecard as OptbScorecard
    from sklearn.linear_model import LogisticRegression

    _, frame, y = fitted
    params = ScorecardParams(round_points=False)
    card = fit_scorecard(frame, y, categorical=["form"], params=params)
    names = card.names
    process = BinningProcess(
        names,
        categorical_variables=["form"],
        max_n_bins=params.max_bins,
        min_bin_size=params.min_bin_share,
        binning_fit_params={n: {"monotonic_trend": "auto_asc_desc"} for n in names if n != "form"},
    )
    theirs = OptbScorecard(
        binning_process=process,
        estimator=LogisticRegression(C=1.0, max_iter=1000),
        scaling_method="pdo_odds",
        scaling_method_params={"pdo": 40, "odds": 50, "scorecard_points": 600},
    )
    x = frame[names].copy()
    x["form"] = x["form"].astype(object).where(x["form"].notna(), np.nan)
    theirs.fit(x, y, metric_missing="empirical")
    np.testing.assert_allclose(card.score(frame), theirs.score(x), rtol=0, atol=1e-6)
    # unrounded points reproduce the regression's probability exactly
    np.testing.assert_allclose(card.pd(card.score(frame)), theirs.predict_proba(x)[:, 1], atol=1e-9)


def test_rounded_points_stay_close_to_the_exact_ones(fitted: Any) -> None:
    card, frame, _ = fitted
    exact = fit_scorecard(
        frame, fitted[2], categorical=["form"], params=ScorecardParams(round_points=False)
    )
    gap = np.abs(card.score(frame) - exact.score(frame))
    assert gap.max() <= 0.5 * len(card.variables)


def test_unstable_variables_are_dropped_with_an_out_of_time_sample() -> None:
    frame, y = make_frame(3000, seed=3)
    later, _ = make_frame(3000, seed=4)
    later["age"] = later["age"] + 15  # the population aged: age bins shift
    card = fit_scorecard(frame, y, categorical=["form"], check_frame=later)
    age = next(s for s in card.selection if s.name == "age")
    assert not age.selected
    assert (age.reason_dropped or "").startswith("unstable: PSI ")
    assert "revenue" in card.names


def test_at_most_max_variables_by_iv() -> None:
    frame, y = make_frame(3000, seed=5)
    card = fit_scorecard(frame, y, categorical=["form"], params=ScorecardParams(max_variables=1))
    assert card.names == [card.selection[0].name]
    assert any("strongest" in (s.reason_dropped or "") for s in card.selection)


def test_unseen_category_gets_the_worst_points_and_untrained_missing_is_neutral(
    fitted: Any,
) -> None:
    card, _, _ = fitted
    form = next(v for v in card.variables if v.name == "form")
    assert form.points_of(["never seen"])[0] == form.worst_points
    age = next(v for v in card.variables if v.name == "age")  # never missing in training
    missing = next(b for b in age.bins if b.kind == "missing")
    assert missing.count == 0
    assert missing.woe == 0.0


def test_fit_refuses_a_single_class_and_an_empty_selection() -> None:
    frame, y = make_frame(500, seed=1)
    with pytest.raises(PuhuiError, match="one class"):
        fit_scorecard(frame, np.zeros(len(frame)))
    with pytest.raises(PuhuiError, match="no variable passed"):
        fit_scorecard(pd.DataFrame({"constant": np.ones(len(y))}), y)
    with pytest.raises(PuhuiError, match="pdo"):
        ScorecardParams(pdo=0)


# --- the artefact ---------------------------------------------------------------------------


def test_json_round_trip_is_exact(fitted: Any) -> None:
    card, frame, _ = fitted
    text = card.to_json()
    again = Scorecard.from_json(text)
    assert again == card
    assert again.to_json() == text
    assert len(card.fingerprint) == 64
    np.testing.assert_array_equal(again.score(frame), card.score(frame))
    data = json.loads(text)
    assert data["version"] == FORMAT_VERSION
    assert data["target"] == "bad_12m"


def test_an_edited_or_foreign_artefact_is_refused(fitted: Any) -> None:
    card, _, _ = fitted
    data = json.loads(card.to_json())
    data["variables"][0]["bins"][0]["points"] += 1
    with pytest.raises(PuhuiError, match="fingerprint"):
        Scorecard.from_json(json.dumps(data))
    data["version"] = "99"
    with pytest.raises(PuhuiError, match="version 99"):
        Scorecard.from_json(json.dumps(data))
    with pytest.raises(PuhuiError, match="malformed"):
        Scorecard.from_json("{}")


def test_points_csv_lists_every_bin(fitted: Any) -> None:
    card, _, _ = fitted
    lines = card.points_csv().splitlines()
    assert lines[0] == "variable,bin,kind,count,event_count,event_rate,woe,iv,points"
    assert len(lines) == 1 + sum(len(v.bins) for v in card.variables)


def test_selection_survives_in_json() -> None:
    card = replace(golden(), selection=(VariableSelection("x", 0.01, False, "IV", "IV"),))
    assert Scorecard.from_json(card.sealed().to_json()).selection == card.selection


# --- SQL --------------------------------------------------------------------------------------


def test_score_sql_transpiles_to_spark(fitted: Any) -> None:
    card, _, _ = fitted
    spark = to_spark_sql(f"SELECT {card.score_sql()} AS score FROM features")
    assert "CASE WHEN" in spark
    assert "ISNAN(" in spark.upper()
    assert "AS STRING" in spark  # DuckDB's VARCHAR in Spark's spelling
    assert set(card.points_sql()) == set(card.names)


def test_score_sql_quotes_odd_names() -> None:
    card = golden()
    sql = card.score_sql(lambda n: f'"{n} 列"')
    con = duckdb.connect()
    con.sql('CREATE TABLE t ("revenue 列" DOUBLE, "form 列" VARCHAR)')
    con.sql("INSERT INTO t VALUES (1000, 'it''s'), (NULL, 'enterprise')")
    assert [r[0] for r in con.sql(f"SELECT {sql} FROM t").fetchall()] == [50.0, 60.0]


def test_unrounded_sql_matches_within_float_error(fitted: Any) -> None:
    _, frame, y = fitted
    card = fit_scorecard(frame, y, categorical=["form"], params=ScorecardParams(round_points=False))
    table = pa.Table.from_pandas(frame[card.names], preserve_index=False)
    np.testing.assert_allclose(sql_scores(card, table), card.score(frame), rtol=0, atol=1e-9)


FLOATS = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1000.0, 5000.0, 999.9999999999999]),
)
TEXTS = st.one_of(
    st.none(),
    st.sampled_from(["enterprise", "coop", "individual", "", "Coop"]),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=8),
)


@st.composite
def rows(draw: st.DrawFn, splits: list[float]) -> dict[str, list[Any]]:
    n = draw(st.integers(1, 12))
    numbers = st.one_of(FLOATS, st.sampled_from(splits)) if splits else FLOATS
    return {
        "revenue": [draw(numbers) for _ in range(n)],
        "age": [draw(numbers) for _ in range(n)],
        "form": [draw(TEXTS) for _ in range(n)],
    }


@functools.cache
def _fitted_once() -> Scorecard:
    """Fitted once per run: Hypothesis does not mix with function-scoped fixtures."""
    frame, y = make_frame(2000, seed=11)
    return fit_scorecard(frame, y, categorical=["form"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_score_is_finite_and_sql_equals_python_on_any_input(data: st.DataObject) -> None:
    card = _fitted_once()
    splits = [b.lower for v in card.variables for b in v.bins if b.lower is not None]
    frame = data.draw(rows(splits))
    python = card.score(pd.DataFrame(frame))
    assert np.isfinite(python).all()
    assert np.array_equal(python, np.rint(python))
    np.testing.assert_array_equal(sql_scores(card, arrow_table(frame)), python)
    reasons = card.reasons(card.points(pd.DataFrame(frame)))
    assert reasons.shape == (len(python), 3)


# --- Spark ------------------------------------------------------------------------------------


@pytest.mark.spark
def test_spark_scores_like_numpy(fitted: Any) -> None:
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    from puhui.spark import spark_session

    card, frame, _ = fitted
    splits = [b.lower for v in card.variables for b in v.bins if b.lower is not None]
    edge = {
        "revenue": [math.nan, None, math.inf, -math.inf, *splits],
        "age": [1.0, math.nan, None, 0.0, *splits],
        "form": ["coop", None, "never seen", "it's \\ odd", *(["enterprise"] * len(splits))],
    }
    sample = pd.concat([frame[card.names].head(200), pd.DataFrame(edge)], ignore_index=True)
    records = [
        (
            float(r) if r is not None else None,
            float(a) if a is not None else None,
            None if f is None or (isinstance(f, float) and math.isnan(f)) else str(f),
        )
        for r, a, f in zip(sample["revenue"], sample["age"], sample["form"], strict=True)
    ]
    schema = StructType(
        [
            StructField("revenue", DoubleType()),
            StructField("age", DoubleType()),
            StructField("form", StringType()),
        ]
    )
    spark = spark_session()
    spark.createDataFrame(records, schema).createOrReplaceTempView("scorecard_t")
    sql = to_spark_sql(f"SELECT {card.score_sql()} AS s FROM scorecard_t")
    got = np.array([row[0] for row in spark.sql(sql).collect()], dtype=np.float64)
    expected = card.score(
        pd.DataFrame(records, columns=["revenue", "age", "form"]).astype({"form": object})
    )
    np.testing.assert_array_equal(got, expected)


@pytest.mark.spark
def test_spark_scores_repeated_points_like_numpy() -> None:
    from puhui.spark import spark_session

    spark = spark_session()
    spark.createDataFrame(plateau_table()).createOrReplaceTempView("plateau_t")  # keeps NULL
    sql = to_spark_sql(f"SELECT {plateaus().score_sql()} AS s FROM plateau_t")
    assert "MAP_FROM_ARRAYS" in sql
    assert [row[0] for row in spark.sql(sql).collect()] == PLATEAU_SCORES
