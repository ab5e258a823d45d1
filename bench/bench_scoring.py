"""Batch scoring: the champion scorecard compiled to warehouse SQL against optbinning's own
``Scorecard.score`` on the same entities.

A 100,000-business region (simulated, ingested, linked, featured once and cached in /tmp)
gives the training samples; the platform's scorecard is fitted on them, and optbinning's
``Scorecard`` (BinningProcess + LogisticRegression, ``pdo_odds`` scaling) is fitted on the
same variables and samples. The region's feature rows are then repeated, with distinct
uscc, to ``ENTITIES`` rows in the warehouse (scoring cost depends on the rows, not on
where they came from), and timed:

* ``warehouse SQL``: the score of every row as one DuckDB query (points per variable and
  their sum), the way ``puhui score`` runs it;
* ``puhui score``: that query plus everything ``puhui score`` adds per row — PD, three
  reasons, admission, tier, credit points, limit and price (numpy over the query's Arrow
  result) — without storing;
* ``optbinning``: ``Scorecard.score(X)`` on the same rows already in a pandas frame, and
  ``read + optbinning``: with the time to read those rows out of the warehouse into
  pandas first, which scoring the region with it takes;
* ``LightGBM challenger``: the challenger's calibrated PD and reasons (its own
  contributions, ``pred_contrib``) on the first 100,000 rows, for scale.

Each step runs three times; the best time is shown.

Run: ``python bench/bench_scoring.py [ENTITIES] [--dir DELIVERY]`` (DELIVERY: the 100,000-
business delivery, simulated if missing).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from puhui.features.service import compute_features
from puhui.ingest.service import ingest_delivery
from puhui.ingest.warehouse import connect
from puhui.link.service import run_link
from puhui.scoring.challenger import fit_challenger
from puhui.scoring.policy import evaluate_policy, load_policy
from puhui.scoring.scorecard import Scorecard, fit_scorecard
from puhui.scoring.service import column, duckdb_query, points_column, scorecard_frame
from puhui.scoring.training import CATEGORICAL_FEATURES, build_training_set, model_features
from regions import AS_OF, delivery_dir, print_row, run_from_command_line

T = TypeVar("T")
REGION = 100_000
KEY = b"bench-key"


def region_warehouse(delivery: Path) -> Path:
    """The region ingested, linked and featured as of AS_OF, made once and kept in /tmp."""
    path = Path(tempfile.gettempdir()) / f"puhui-bench-scoring-{REGION}.duckdb"
    if path.exists():
        return path
    print(f"preparing the {REGION:,}-business region in {path} ...", flush=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    con = connect(partial, KEY)
    ingest_delivery(con, delivery)
    run_link(con)
    compute_features(con, AS_OF)
    con.close()
    partial.rename(path)
    return path


def main(entities: int, directory: Path | None) -> None:
    delivery = delivery_dir(REGION, directory)
    source = region_warehouse(delivery)
    with tempfile.TemporaryDirectory(prefix="puhui-bench-scoring-") as tmp:
        work = Path(tmp) / "w.duckdb"
        work.write_bytes(source.read_bytes())
        con = connect(work, KEY)
        training = build_training_set(con, AS_OF)
        features = model_features()
        categorical = [c for c in CATEGORICAL_FEATURES if c in features]
        train = training.train
        y = train["bad"].to_numpy(dtype=np.int8)
        card = fit_scorecard(
            train[features], y, categorical=categorical, check_frame=training.test[features]
        )
        challenger = fit_challenger(
            train, y, features=features, categorical=categorical, order=train["start"].to_numpy()
        )
        theirs = _optbinning_scorecard(card, train, y, categorical)

        # The region's rows, repeated to `entities` rows with distinct uscc.
        region_rows = int(con.sql("SELECT count(*) FROM features").fetchall()[0][0])
        copies = -(-entities // region_rows)
        con.execute(
            "CREATE TABLE many AS SELECT * REPLACE (uscc || '-' || c.i AS uscc) FROM features,"
            f" range({copies}) AS c(i) LIMIT {entities}"
        )
        con.execute("ALTER TABLE features RENAME TO region_features")
        con.execute("ALTER TABLE many RENAME TO features")
        policy = load_policy()
        query = duckdb_query(con)
        print(
            f"{entities:,} entities ({copies} copies of the {region_rows:,}-business region);"
            f" scorecard of {len(card.variables)} variables, trained on {len(train):,} loans",
            flush=True,
        )
        print_row(("step", "seconds", "entities/s", "vs optbinning"), 16)

        def warehouse_sql() -> np.ndarray:
            sql = f"SELECT {card.score_sql(nan_free=True)} AS score FROM features"
            return np.asarray(con.sql(sql).fetchnumpy()["score"])

        def puhui_score() -> None:
            table = scorecard_frame(query, card, AS_OF, sorted(policy.features_used))
            pd_ = card.pd(column(table, "score"))
            points = np.column_stack([column(table, points_column(v.name)) for v in card.variables])
            card.reasons(points)
            inputs = {name: column(table, name) for name in policy.features_used}
            evaluate_policy(policy, pd_, inputs)

        def optbinning_input() -> pd.DataFrame:
            x = con.sql(f"SELECT {', '.join(card.names)} FROM features").df()
            for name in categorical:
                if name in x:
                    x[name] = x[name].astype(object).where(x[name].notna(), np.nan)
            return x

        read_seconds, x = best_of(3, optbinning_input)
        plain = con.sql(f"SELECT {', '.join(features)} FROM features LIMIT 100000").df()

        def lightgbm() -> None:
            challenger.pd(plain)
            challenger.reasons(plain)

        sql_seconds, sql_scores = best_of(3, warehouse_sql)
        full_seconds, _ = best_of(3, puhui_score)
        their_seconds, their_scores = best_of(3, lambda: theirs.score(x))
        challenger_seconds, _ = best_of(1, lightgbm)
        con.close()

    challenger_rate = len(plain) / challenger_seconds
    gap = float(np.max(np.abs(np.sort(sql_scores) - np.sort(card.score(x)))))
    for step, seconds in (
        ("warehouse SQL", sql_seconds),
        ("puhui score", full_seconds),
        ("optbinning", their_seconds),
        ("read + optbinning", read_seconds + their_seconds),
        ("LightGBM", entities / challenger_rate),
    ):
        print_row(
            (
                step,
                f"{seconds:.2f}",
                f"{entities / seconds:,.0f}",
                f"{their_seconds / seconds:.1f}x",
            ),
            16,
        )
    print(f"LightGBM measured on {len(plain):,} rows and scaled to {entities:,}")
    print(
        f"SQL score = numpy score of the card: max gap {gap:g}; optbinning's (unrounded)"
        f" scores differ from the card's rounded points by up to"
        f" {float(np.max(np.abs(np.sort(their_scores) - np.sort(sql_scores)))):.2f} points"
    )


def best_of(times: int, step: Callable[[], T]) -> tuple[float, T]:
    """The shortest wall time of ``times`` runs of ``step``, and its last result."""
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        result = step()
        best = min(best, time.perf_counter() - started)
    return best, result


def _optbinning_scorecard(card: Scorecard, train, y, categorical):  # type: ignore[no-untyped-def]
    """optbinning's own scorecard on the card's variables, the same samples and scaling."""
    from optbinning import BinningProcess
    from optbinning import Scorecard as OptbScorecard
    from sklearn.linear_model import LogisticRegression

    names = card.names
    cats = [n for n in names if n in categorical]
    process = BinningProcess(
        names,
        categorical_variables=cats,
        max_n_bins=card.params.max_bins,
        min_bin_size=card.params.min_bin_share,
        binning_fit_params={
            n: {"monotonic_trend": "auto_asc_desc"} for n in names if n not in cats
        },
    )
    theirs = OptbScorecard(
        binning_process=process,
        estimator=LogisticRegression(C=1.0, max_iter=1000),
        scaling_method="pdo_odds",
        scaling_method_params={
            "pdo": card.params.pdo,
            "odds": card.params.odds,
            "scorecard_points": card.params.base_points,
        },
    )
    x = train[names].copy()
    for name in cats:
        x[name] = x[name].astype(object).where(x[name].notna(), np.nan)
    theirs.fit(x, y, metric_missing="empirical")
    return theirs


if __name__ == "__main__":
    run_from_command_line(main)
