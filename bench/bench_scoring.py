"""Batch scoring: the champion scorecard compiled to warehouse SQL against optbinning's own
``Scorecard.score`` on the same entities.

A 100,000-business region (simulated, ingested, linked, featured once and cached in /tmp)
gives the training samples; the platform's scorecard is fitted on them, and optbinning's
``Scorecard`` (BinningProcess + LogisticRegression, ``pdo_odds`` scaling) is fitted on the
same variables and samples. The region's feature rows are then repeated, with distinct
uscc, to ``ENTITIES`` rows in the warehouse (scoring cost depends on the rows, not on
where they came from), and timed:

* ``SQL``: the score of every row as one DuckDB query (points per variable and
  their sum), the way ``puhui score`` runs it, fetched into a numpy array (every row's
  score is produced and handed over, not just aggregated); ``SQL 1 thread``: the same
  on one thread, as optbinning runs;
* ``puhui score``: that query plus everything ``puhui score`` adds per row — PD, three
  reasons, admission, tier, credit points, limit and price (numpy over the query's Arrow
  result) — without storing;
* ``optbinning``: ``Scorecard.score(X)`` on the same rows already in a pandas frame, and
  ``read+optb``: with the time to read those rows out of the warehouse into
  pandas first, which scoring the region with it takes;
* ``LightGBM``: the challenger's calibrated PD and reasons (its own
  contributions, ``pred_contrib``) on the first 100,000 rows, for scale.

Each step runs ``RUNS`` times (LightGBM once) after one warm-up run of the SQL; the best
and the median wall time are shown, with the CPU time of the best run (all threads of the
process: the machine has 2 cores shared with other jobs, so wall time moves with their
load more than CPU time does), and the load average at the start and at the end.

Run: ``python bench/bench_scoring.py [ENTITIES] [--dir DELIVERY]`` (DELIVERY: the 100,000-
business delivery, simulated if missing).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

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
RUNS = 5


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

        def warehouse_sql() -> np.ndarray:
            sql = f"SELECT {card.score_sql(nan_free=True)} AS score FROM features"
            return np.asarray(con.sql(sql).fetchnumpy()["score"])

        def one_thread_sql() -> np.ndarray:
            threads = con.sql("SELECT current_setting('threads')").fetchall()[0][0]
            con.execute("SET threads = 1")
            try:
                return warehouse_sql()
            finally:
                con.execute(f"SET threads = {int(threads)}")

        def puhui_score() -> None:
            table = scorecard_frame(query, card, AS_OF, sorted(policy.features_used))
            pd_ = card.pd(column(table, "score"))
            points = np.column_stack([column(table, points_column(v.name)) for v in card.variables])
            card.reasons(points)
            inputs = {name: column(table, name) for name in policy.features_used}
            evaluate_policy(policy, pd_, inputs)

        def optbinning_input() -> pd.DataFrame:
            x: pd.DataFrame = con.sql(f"SELECT {', '.join(card.names)} FROM features").df()
            for name in categorical:
                if name in x:
                    x[name] = x[name].astype(object).where(x[name].notna(), np.nan)
            return x

        load_before = os.getloadavg()
        read = measure(RUNS, optbinning_input)
        x = read.result
        plain = con.sql(f"SELECT {', '.join(features)} FROM features LIMIT 100000").df()

        def lightgbm() -> None:
            challenger.pd(plain)
            challenger.reasons(plain)

        warehouse_sql()  # warm-up: the table's blocks in memory, as for optbinning's frame
        sql = measure(RUNS, warehouse_sql)
        sql_one = measure(RUNS, one_thread_sql)
        full = measure(RUNS, puhui_score)
        theirs_score = measure(RUNS, lambda: theirs.score(x))
        challenger_timing = measure(1, lightgbm)
        load_after = os.getloadavg()
        con.close()

    scale = entities / len(plain)
    print_row(("step", "best s", "median s", "CPU s", "entities/s", "÷ best", "÷ CPU"), 12)
    for step, t, factor in (
        ("SQL", sql, 1.0),
        ("SQL 1 thread", sql_one, 1.0),
        ("puhui score", full, 1.0),
        ("optbinning", theirs_score, 1.0),
        ("read+optb", read.plus(theirs_score), 1.0),
        ("LightGBM", challenger_timing, scale),
    ):
        print_row(
            (
                step,
                f"{t.best * factor:.3f}",
                f"{t.median * factor:.3f}",
                f"{t.cpu * factor:.3f}",
                f"{entities / (t.best * factor):,.0f}",
                f"{theirs_score.best / (t.best * factor):.1f}x",
                f"{theirs_score.cpu / (t.cpu * factor):.1f}x",
            ),
            12,
        )
    print(
        "÷ best: optbinning's best wall time over the step's; ÷ CPU: the same in CPU time."
        f" LightGBM measured on {len(plain):,} rows and scaled to {entities:,}."
    )
    print(f"load average (1, 5, 15 min): {_load(load_before)} before, {_load(load_after)} after")
    gap = float(np.max(np.abs(np.sort(sql.result) - np.sort(card.score(x)))))
    their_gap = float(np.max(np.abs(np.sort(theirs_score.result) - np.sort(sql.result))))
    print(
        f"SQL score = numpy score of the card: max gap {gap:g}; optbinning's (unrounded)"
        f" scores differ from the card's rounded points by up to {their_gap:.2f} points"
    )


@dataclass(frozen=True)
class Timing:
    """Wall seconds of the fastest and the median run, CPU seconds of the fastest (all the
    process's threads), and the last run's result."""

    best: float
    median: float
    cpu: float
    result: Any

    def plus(self, other: Timing) -> Timing:
        """Two steps one after the other (best with best, median with median)."""
        return Timing(
            self.best + other.best, self.median + other.median, self.cpu + other.cpu, None
        )


def measure(times: int, step: Callable[[], T]) -> Timing:
    """``times`` runs of ``step``."""
    runs: list[tuple[float, float]] = []
    result: Any = None
    for _ in range(times):
        wall, cpu = time.perf_counter(), time.process_time()
        result = step()
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    best = min(runs)
    return Timing(best[0], statistics.median(w for w, _ in runs), best[1], result)


def _load(average: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.2f}" for v in average)


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
