"""Training sets: labels from what was known, features from before each loan's start."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from puhui.errors import PuhuiError
from puhui.features.pipeline import features_sql
from puhui.scoring.training import (
    LABEL_WINDOW_DAYS,
    TrainingSet,
    build_training_set,
    history_start,
    model_features,
    out_of_time_mask,
    samples_sql,
)
from tests.scoring.conftest import AS_OF


def test_samples_are_labelled_loans_whose_window_closed(
    training_set: TrainingSet, warehouse: duckdb.DuckDBPyConnection
) -> None:
    frame = training_set.frame
    assert len(frame) >= 200
    assert set(frame.columns) >= {"bank", "loan_id", "uscc", "start", "bad", *model_features()}
    start = pd.to_datetime(frame["start"])
    assert (start + timedelta(days=LABEL_WINDOW_DAYS) < pd.Timestamp(AS_OF)).all()
    first = history_start(warehouse)
    assert first is not None
    assert (start >= pd.Timestamp(first)).all()
    # Features as of the first day of the start month: never after the loan started.
    assert (pd.to_datetime(frame["features_as_of"]) <= start).all()
    assert (pd.to_datetime(frame["features_as_of"]).dt.day == 1).all()

    loans = warehouse.sql(
        "SELECT bank, loan_id, default_on FROM feed_loans WHERE default_on IS NOT NULL"
    ).df()
    joined = frame.merge(loans, on=["bank", "loan_id"], how="left")
    window = pd.to_datetime(joined["start"]) + timedelta(days=LABEL_WINDOW_DAYS)
    expected = joined["default_on"].notna() & (pd.to_datetime(joined["default_on"]) <= window)
    assert (joined["bad"] == expected).all()
    assert frame["bad"].sum() >= 20


def test_features_of_a_sample_are_those_as_of_its_start_month(
    training_set: TrainingSet, warehouse: duckdb.DuckDBPyConnection
) -> None:
    sample = training_set.frame.sample(5, random_state=1)
    for row in sample.itertuples():
        month = pd.Timestamp(row.features_as_of).date()
        expected = warehouse.sql(
            f"SELECT * FROM ({features_sql(month)}) AS f WHERE uscc = '{row.uscc}'"
        ).df()
        for name in ("age_years", "revenue_avg_12m", "loans_prior", "penalties_36m"):
            got, want = getattr(row, name), expected[name].iloc[0]
            assert (pd.isna(got) and pd.isna(want)) or got == want


def test_a_training_date_hides_later_outcomes(warehouse: duckdb.DuckDBPyConnection) -> None:
    earlier = date(2026, 1, 1)
    sql, params = samples_sql(earlier, None, history_start(warehouse))
    before = warehouse.sql(sql, params=params).df()
    now_sql, now_params = samples_sql(AS_OF, None, history_start(warehouse))
    now = warehouse.sql(now_sql, params=now_params).df()
    # Fewer loans have a closed window, and none is labelled from a later default.
    assert 0 < len(before) < len(now)
    later_defaults = warehouse.sql(
        "SELECT bank, loan_id FROM feed_loans WHERE default_on >= $1", params=[earlier]
    ).df()
    marked = before.merge(later_defaults, on=["bank", "loan_id"])
    assert len(marked) > 0
    assert not marked["bad"].any()
    assert now.merge(later_defaults, on=["bank", "loan_id"])["bad"].any()


def test_bank_training_set_holds_only_that_bank(warehouse: duckdb.DuckDBPyConnection) -> None:
    bank = warehouse.sql("SELECT bank FROM feed_loans GROUP BY 1 ORDER BY count(*) DESC").df()
    code = str(bank["bank"].iloc[0])
    sql, params = samples_sql(AS_OF, code, history_start(warehouse))
    samples = warehouse.sql(sql, params=params).df()
    assert len(samples) > 0
    assert set(samples["bank"]) == {code}
    # A small region has too few loans of one bank to fit its own model: a clear error.
    with pytest.raises(PuhuiError, match="a model needs at least"):
        build_training_set(warehouse, AS_OF, "NOSUCHBANK")


def test_out_of_time_is_the_latest_share_and_fingerprint_is_stable(
    training_set: TrainingSet,
) -> None:
    start = training_set.frame["start"].to_numpy()
    mask = out_of_time_mask(start)
    assert 0.15 < mask.mean() < 0.35
    assert start[mask].min() > start[~mask].max()
    same = TrainingSet(AS_OF, None, training_set.frame.copy(), mask, "")
    from puhui.scoring.training import frame_fingerprint

    assert frame_fingerprint(same.frame) == training_set.fingerprint
    changed = training_set.frame.copy()
    changed.loc[changed.index[0], "bad"] = not changed["bad"].iloc[0]
    assert frame_fingerprint(changed) != training_set.fingerprint
    assert np.array_equal(training_set.y, training_set.frame["bad"].to_numpy(dtype=np.int8))
