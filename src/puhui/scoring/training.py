"""Training sets: one row per business loan, its features as of its start, and its label.

The label is the one the platform's models predict: **the loan reached 90 days past due
within 12 months of its start** (``default_on`` within 365 days; the contract sets
``default_on`` to the day a loan reached 90 days past due).

No leakage, by construction:

* a loan is a sample only when its whole 12-month window closed before the training
  date, and its outcome is read only from what was known before that date (a default
  dated on or after it does not count);
* its features are computed as of the first day of its start month, from data dated
  before that day (:func:`puhui.features.pipeline.features_sql`), so neither the loan
  itself nor anything that happened after its start is in them. Features are computed
  once per start month for that month's borrowers, not once per loan.

A loan is a sample only when the departments' monthly data (tax returns) reach back
:data:`MIN_HISTORY_MONTHS` before its start month. Loans made in the first months of the
platform's data would be scored on windows that are mostly empty — a population unlike
every business scored later, which teaches the model the platform's start-up rather than
the businesses.

The out-of-time sample is the latest share of loans by start date: the model is fitted on
older loans and checked on newer ones, the way it will be used.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from puhui.errors import PuhuiError
from puhui.features.pipeline import features_sql
from puhui.features.registry import feature_names

#: Features the models never use: raw codes whose information is in a coarser feature
#: (industry_code → industry_division); the flag that is a knock-out rule of the policy
#: rather than a risk gradient; and the district — where a business is registered should
#: not set its price (products may still target districts).
EXCLUDED_FEATURES = frozenset({"industry_code", "is_cancelled", "district"})

#: Features that are categories rather than numbers.
CATEGORICAL_FEATURES = ("entity_type", "industry_division", "taxpayer_grade_latest")

#: Share of samples, by start date, kept apart as the out-of-time sample.
OUT_OF_TIME_SHARE = 0.25

#: Months of department data a loan's features need before its start month.
MIN_HISTORY_MONTHS = 12

#: Days after its start within which a default makes a loan bad.
LABEL_WINDOW_DAYS = 365


def model_features() -> list[str]:
    """The candidate features of every model, in registry order."""
    return [n for n in feature_names() if n not in EXCLUDED_FEATURES]


@dataclass(frozen=True)
class TrainingSet:
    """Samples of one training run.

    ``frame`` has ``bank, loan_id, uscc, start, features_as_of, bad`` and every
    :func:`model_features` column; ``out_of_time`` marks its out-of-time rows.
    """

    as_of: date
    bank: str | None
    frame: pd.DataFrame
    out_of_time: np.ndarray
    fingerprint: str

    @property
    def y(self) -> np.ndarray:
        return self.frame["bad"].to_numpy(dtype=np.int8)

    @property
    def train(self) -> pd.DataFrame:
        return self.frame.loc[~self.out_of_time]

    @property
    def test(self) -> pd.DataFrame:
        return self.frame.loc[self.out_of_time]


def history_start(con: duckdb.DuckDBPyConnection) -> date | None:
    """First month a loan may start in to be a sample (see :data:`MIN_HISTORY_MONTHS`)."""
    first = con.execute("SELECT min(period) FROM feed_tax").fetchall()[0][0]
    if first is None:
        return None
    index = int(first[:4]) * 12 + int(first[5:7]) - 1 + MIN_HISTORY_MONTHS
    return date(index // 12, index % 12 + 1, 1)


def samples_sql(
    as_of: date, bank: str | None, earliest: date | None = None
) -> tuple[str, list[object]]:
    """The labelled loans of businesses whose 12-month window closed before ``as_of`` and
    that started in or after the month ``earliest``."""
    window_end = as_of - timedelta(days=LABEL_WINDOW_DAYS)
    sql = (
        "SELECT bank, loan_id, borrower_id AS uscc, start,"
        " CAST(date_trunc('month', start) AS DATE) AS features_as_of,"
        " coalesce(default_on < $1 AND default_on <= start + INTERVAL 365 DAY, false) AS bad"
        " FROM feed_loans"
        # Business loans: the borrower is a registered business (households are scored
        # by the whole-village issue, not here).
        " WHERE borrower_id IN (SELECT uscc FROM feed_registrations)"
        " AND start < $2"
    )
    params: list[object] = [as_of, window_end]
    if earliest is not None:
        params.append(earliest)
        sql += f" AND start >= ${len(params)}"
    if bank is not None:
        params.append(bank)
        sql += f" AND bank = ${len(params)}"
    return sql, params


def build_training_set(
    con: duckdb.DuckDBPyConnection, as_of: date, bank: str | None = None
) -> TrainingSet:
    """Every labelled loan started before ``as_of`` − 365 days (and after the first
    :data:`MIN_HISTORY_MONTHS` of data), with its features.

    Raises :class:`PuhuiError` when there are too few loans or bads to fit a model.
    """
    sql, params = samples_sql(as_of, bank, history_start(con))
    con.execute(f"CREATE OR REPLACE TEMP TABLE training_loans AS {sql}", params)
    months = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT features_as_of FROM training_loans ORDER BY 1"
        ).fetchall()
    ]
    columns = model_features()
    con.execute(
        "CREATE OR REPLACE TEMP TABLE training_features AS SELECT * FROM"
        f" ({features_sql(as_of)}) AS f LIMIT 0"
    )
    for month in months:
        # Only this month's borrowers are kept; the query itself covers the region.
        con.execute(
            f"INSERT INTO training_features SELECT * FROM ({features_sql(month)}) AS f"
            " WHERE uscc IN (SELECT uscc FROM training_loans WHERE features_as_of = $1)",
            [month],
        )
    selected = ", ".join(f"f.{c}" for c in columns)
    frame = con.sql(
        "SELECT l.bank, l.loan_id, l.uscc, l.start, l.features_as_of, l.bad, "
        f"{selected} FROM training_loans l JOIN training_features f"
        " ON f.uscc = l.uscc AND f.as_of = l.features_as_of"
        " ORDER BY l.start, l.bank, l.loan_id"
    ).df()
    con.execute("DROP TABLE training_loans")
    con.execute("DROP TABLE training_features")
    _require_enough(frame, as_of, bank)
    return TrainingSet(
        as_of=as_of,
        bank=bank,
        frame=frame,
        out_of_time=out_of_time_mask(frame["start"].to_numpy()),
        fingerprint=frame_fingerprint(frame),
    )


def out_of_time_mask(start: np.ndarray, share: float = OUT_OF_TIME_SHARE) -> np.ndarray:
    """True for the latest ``share`` of samples by start date (ties stay together)."""
    if len(start) == 0:
        return np.zeros(0, dtype=bool)
    cut = np.quantile(start.astype("datetime64[D]").astype(np.int64), 1.0 - share)
    return np.asarray(start.astype("datetime64[D]").astype(np.int64) > cut)


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """sha256 over the frame's columns and values, independent of the machine."""
    digest = hashlib.sha256(",".join(frame.columns).encode())
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    digest.update(hashed.astype("<u8").tobytes())
    return digest.hexdigest()


#: Fewest samples and bads a model is fitted on.
MIN_SAMPLES = 200
MIN_BADS = 20


def _require_enough(frame: pd.DataFrame, as_of: date, bank: str | None) -> None:
    bads = int(frame["bad"].sum())
    whose = f"机构 {bank} 的" if bank else ""
    whose_en = f" of bank {bank}" if bank else ""
    if len(frame) < MIN_SAMPLES or bads < MIN_BADS:
        raise PuhuiError(
            f"{as_of} 前满 12 个月的{whose}贷款只有 {len(frame)} 笔（违约 {bads} 笔），"
            f"至少需要 {MIN_SAMPLES} 笔且违约 {MIN_BADS} 笔",
            f"only {len(frame)} loans{whose_en} with a full 12 months before {as_of}"
            f" ({bads} bad); a model needs at least {MIN_SAMPLES} with {MIN_BADS} bad",
        )
