"""The simulated region: files read back as declared, identifiers valid, truth agrees.

The main fixture simulates 100,000 businesses (the scale the foundation issue names); set
PUHUI_TEST_SIM_ENTITIES to try another size.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from stdnum.cn import ric, uscc

from puhui.ingest.contract import FEEDS, Kind
from puhui.simulate.service import SimulationConfig, simulate
from puhui.simulate.writers import DELIVERY, SPECS, FileSpec

ENTITIES = int(os.environ.get("PUHUI_TEST_SIM_ENTITIES", "100000"))
AS_OF = date(2026, 6, 30)


def read_feed(directory: Path, spec: FileSpec) -> pd.DataFrame:
    """Read a feed file as text cells, the way its spec says it was written."""
    path = directory / spec.filename
    if spec.fmt == "csv":
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding=spec.encoding, na_filter=False
        )
    elif spec.fmt == "parquet":
        frame = pq.read_table(path).to_pandas().astype(str)
        frame = frame.replace({"None": "", "nan": ""})
    elif spec.fmt == "jsonl":
        frame = pd.read_json(path, lines=True, dtype=False).astype(object)
        frame = frame.where(frame.notna(), "").astype(str)
    else:
        frame = pd.read_excel(path, dtype=str, keep_default_na=False)
    if spec.chinese_headers:
        frame = frame.rename(columns=FEEDS[spec.feed].header_map())
    return frame


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("region")
    simulate(out, SimulationConfig(entities=ENTITIES, seed=11, as_of=AS_OF))
    return out


@pytest.fixture(scope="module")
def feeds(region: Path) -> dict[str, pd.DataFrame]:
    return {spec.feed: read_feed(region, spec) for spec in DELIVERY}


@pytest.fixture(scope="module")
def bad_rows(region: Path) -> pd.DataFrame:
    return pd.read_csv(region / "truth" / "bad_rows.csv", dtype=str, keep_default_na=False)


pytestmark = pytest.mark.slow


def test_every_feed_is_delivered_in_its_declared_format(region: Path) -> None:
    manifest = json.loads((region / "truth" / "manifest.json").read_text())
    assert set(manifest["files"]) == set(FEEDS)
    formats = {spec.fmt for spec in DELIVERY}
    assert formats == {"csv", "xlsx", "parquet", "jsonl"}
    encodings = {spec.encoding for spec in DELIVERY if spec.fmt == "csv"}
    assert encodings == {"utf-8", "utf-8-sig", "gb18030"}
    for spec in DELIVERY:
        raw = (region / spec.filename).read_bytes()
        if spec.fmt != "csv":
            continue
        if spec.encoding == "gb18030":
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
            header = raw.decode("gb18030").splitlines()[0]
        else:
            assert raw.startswith(b"\xef\xbb\xbf") == (spec.encoding == "utf-8-sig")
            header = raw.decode(spec.encoding).splitlines()[0]
        expected = [spec.header(c) for c in FEEDS[spec.feed].names]
        assert [h.strip('"') for h in header.split(",")][: len(expected)] == expected


def test_headers_and_row_counts_read_back(region: Path, feeds: dict[str, pd.DataFrame]) -> None:
    manifest = json.loads((region / "truth" / "manifest.json").read_text())
    for feed, frame in feeds.items():
        assert len(frame) == manifest["files"][feed]["rows"], feed
        assert set(FEEDS[feed].names) <= set(frame.columns), feed
        assert len(frame) > 0, feed


def _identifier_ok(kind: Kind, value: str) -> bool:
    if kind is Kind.USCC:
        return bool(uscc.is_valid(value))
    if kind is Kind.PERSON_ID:
        return bool(ric.is_valid(value))
    return bool(uscc.is_valid(value) or ric.is_valid(value))


def test_every_identifier_not_broken_on_purpose_passes_stdnum(
    feeds: dict[str, pd.DataFrame], bad_rows: pd.DataFrame
) -> None:
    kinds = (Kind.USCC, Kind.PERSON_ID, Kind.PARTY_ID)
    checked = 0
    for feed, frame in feeds.items():
        broken = bad_rows[bad_rows.feed == feed]
        for column in FEEDS[feed].columns:
            if column.kind not in kinds:
                continue
            rows_broken_here = broken.loc[broken.column == column.name, "row"].astype(int) - 1
            values = frame[column.name].drop(index=rows_broken_here.to_numpy())
            unique = values[values != ""].unique()
            bad = [v for v in unique if not _identifier_ok(column.kind, v)]
            assert bad == [], (feed, column.name, bad[:5])
            checked += len(unique)
    assert checked > ENTITIES


def test_bad_rows_are_bad_where_truth_says(
    feeds: dict[str, pd.DataFrame], bad_rows: pd.DataFrame
) -> None:
    assert set(bad_rows.feed) == set(FEEDS)  # every feed carries some mess
    for feed, group in bad_rows.groupby("feed"):
        frame = feeds[str(feed)]
        for problem_row in group.itertuples():
            cell = frame.at[int(problem_row.row) - 1, problem_row.column]
            assert cell == problem_row.value, (feed, problem_row)
            kind = FEEDS[str(feed)].column(problem_row.column).kind
            if problem_row.problem == "check_character":
                assert not _identifier_ok(kind, cell)
            elif problem_row.problem == "missing":
                assert cell == ""
            elif problem_row.problem == "not_a_number":
                assert pd.to_numeric(pd.Series([cell]), errors="coerce").isna().all()
            elif problem_row.problem == "bad_date":
                assert pd.to_datetime(pd.Series([cell]), errors="coerce").isna().all()
        # Each bad row breaks exactly one column.
        assert not group.duplicated(["row"]).any()
    rate = len(bad_rows) / sum(len(f) for f in feeds.values())
    assert 0.005 < rate < 0.02


def test_duplicates_are_exact_copies(region: Path, feeds: dict[str, pd.DataFrame]) -> None:
    dups = pd.read_csv(region / "truth" / "duplicates.csv", dtype=str, keep_default_na=False)
    assert len(dups) > 0
    for feed, group in dups.groupby("feed"):
        frame = feeds[str(feed)]
        copies = frame.iloc[group.row.astype(int).to_numpy() - 1].reset_index(drop=True)
        originals = frame.iloc[group.duplicate_of.astype(int).to_numpy() - 1].reset_index(drop=True)
        pd.testing.assert_frame_equal(copies, originals)


def test_truth_matches_the_delivery(
    region: Path, feeds: dict[str, pd.DataFrame], bad_rows: pd.DataFrame
) -> None:
    entities = pq.read_table(region / "truth" / "entities.parquet").to_pandas()
    assert len(entities) == ENTITIES
    assert entities.uscc.is_unique
    registrations = feeds["registrations"]
    broken_ids = bad_rows[(bad_rows.feed == "registrations") & (bad_rows.column == "uscc")]
    good = registrations.drop(index=broken_ids.row.astype(int).to_numpy() - 1)
    assert set(good.uscc) <= set(entities.uscc)
    assert len(set(good.uscc)) == ENTITIES - len(broken_ids)
    assert 0.01 < entities.true_pd_12m.mean() < 0.1

    records = pd.read_csv(region / "truth" / "records.csv", dtype=str, keep_default_na=False)
    assert set(records.feed) == {"utilities", "penalties", "court", "property"}
    owned = records[records.uscc != ""]
    assert set(owned.uscc) <= set(entities.uscc)
    utility_code = {"电": "electricity", "水": "water", "electricity": "electricity"}
    utilities = feeds["utilities"]
    known = utilities.utility.isin(list(utility_code)) & (utilities.account_no != "")
    keys = utilities.utility[known].map(utility_code) + "|" + utilities.account_no[known]
    assert set(keys) <= set(records.record_key[records.feed == "utilities"])
    # Records without a uscc in the delivery are the ones the platform must resolve.
    no_code = (utilities.uscc == "").mean()
    assert 0.3 < no_code < 0.9
    penalties = feeds["penalties"]
    assert set(penalties.decision_no[penalties.decision_no != ""]) <= set(
        records.record_key[records.feed == "penalties"]
    )
    court = feeds["court"]
    assert set(court.case_no + "|" + court.party_name) <= set(
        records.record_key[records.feed == "court"]
    )
    prop = feeds["property"]
    assert set(prop.cert_no) <= set(records.record_key[records.feed == "property"])


def test_hidden_loans_stay_out_of_the_delivery(
    region: Path, feeds: dict[str, pd.DataFrame]
) -> None:
    truth = pq.read_table(region / "truth" / "loans.parquet").to_pandas()
    delivered = feeds["loans"]
    delivered_keys = set(delivered.bank + "|" + delivered.loan_id)
    truth_keys = truth.bank + "|" + truth.loan_id
    assert set(truth_keys[truth.in_delivery]) == delivered_keys
    hidden = truth[~truth.in_delivery]
    assert len(hidden) > 0
    assert (pd.to_datetime(hidden.start) >= pd.Timestamp(AS_OF)).all()
    assert not (set(truth_keys[~truth.in_delivery]) & delivered_keys)
    assert (pd.to_datetime(truth.start[truth.in_delivery]) < pd.Timestamp(AS_OF)).all()
    # As of the delivery, every status occurs, and no default is dated after the as-of date.
    assert set(delivered.status) == {"current", "overdue", "repaid", "default"}
    defaults = pd.to_datetime(delivered.default_on[delivered.default_on != ""], errors="coerce")
    assert (defaults <= pd.Timestamp(AS_OF)).all()


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    ranks = pd.Series(score).rank().to_numpy()
    positives = label.sum()
    negatives = len(label) - positives
    return float((ranks[label].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def test_soundness_drives_outcomes_with_noise(region: Path) -> None:
    entities = pq.read_table(region / "truth" / "entities.parquet").to_pandas()
    loans = pq.read_table(region / "truth" / "loans.parquet").to_pandas()
    business = loans.merge(entities, left_on="borrower_id", right_on="uscc")
    bad = business.bad_12m.to_numpy(dtype=bool)
    assert 0.01 < bad.mean() < 0.15
    auc = _auc(-business.soundness.to_numpy(), bad)
    assert 0.7 < auc < 0.97  # real signal, but not a perfect one


def test_same_seed_same_files(tmp_path: Path) -> None:
    config = SimulationConfig(entities=300, seed=5, as_of=AS_OF)
    first, second = tmp_path / "a", tmp_path / "b"
    simulate(first, config)
    simulate(second, config)
    for spec in DELIVERY:
        if spec.fmt == "xlsx":  # the workbook stamps its save time; compare cells instead
            pd.testing.assert_frame_equal(read_feed(first, spec), read_feed(second, spec))
        else:
            assert (first / spec.filename).read_bytes() == (second / spec.filename).read_bytes()
    other = tmp_path / "c"
    simulate(other, SimulationConfig(entities=300, seed=6, as_of=AS_OF))
    assert (other / "registrations.csv").read_bytes() != (first / "registrations.csv").read_bytes()


def test_spec_headers_cover_the_contract() -> None:
    for feed, spec in SPECS.items():
        assert spec.feed == feed
        for name in FEEDS[feed].names:
            header = spec.header(name)
            assert header == (FEEDS[feed].aliases[name] if spec.chinese_headers else name)
