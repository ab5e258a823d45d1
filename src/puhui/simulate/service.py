"""``puhui simulate``: a synthetic region written as one department delivery plus its truth.

Layout of ``OUT_DIR``::

    <feed>.<ext>            one file per contract feed (the delivery)
    truth/entities.parquet  every business: hidden soundness, true 12-month PD, trouble onset
    truth/records.csv       feed,record_key,uscc: the business each linkable record belongs to
    truth/bad_rows.csv      feed,file,row,column,problem,value: every row that breaks the contract
    truth/duplicates.csv    feed,file,row,duplicate_of: re-sent copies
    truth/loans.parquet     every loan, also those after the as-of date, with its true outcome
    truth/manifest.json     parameters, files, formats and row counts

The pipeline never reads ``truth/``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from puhui.simulate import activity, mess
from puhui.simulate.activity import Chunk, Columns
from puhui.simulate.population import (
    ENTERPRISE,
    ENTITY_TYPE_NAMES,
    NO_MONTH,
    STATUS_NAMES,
    Region,
    Window,
    _join,
    make_region,
)
from puhui.simulate.vocab import INDUSTRIES
from puhui.simulate.writers import DELIVERY, FeedWriter

CHUNK_BUSINESSES = 50_000  # fixed: the same seed gives the same files whatever the machine

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    entities: int = 20_000
    seed: int = 1
    as_of: date = date(2026, 6, 30)
    history_months: int = 36
    future_months: int = 12
    bad_row_rate: float = 0.01
    duplicate_rate: float = 0.005


@dataclass
class SimulationResult:
    out_dir: Path
    rows: dict[str, int] = field(default_factory=dict)
    bad_rows: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class _Truth:
    """Collects truth tables chunk by chunk and writes them at the end."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.bad: list[pa.Table] = []
        self.dups: list[pa.Table] = []
        self.records = (directory / "records.csv").open("wb")
        self._records_header = True
        self.loans: pq.ParquetWriter | None = None

    def add_records(self, feed: str, keys: np.ndarray, uscc: np.ndarray) -> None:
        table = pa.table({"feed": np.full(len(keys), feed), "record_key": keys, "uscc": uscc})
        options = pacsv.WriteOptions(include_header=self._records_header)
        pacsv.write_csv(table, self.records, write_options=options)
        self._records_header = False

    def add_loans(self, truth: Columns, in_delivery: np.ndarray) -> None:
        table = pa.table({**truth, "in_delivery": in_delivery})
        if self.loans is None:
            self.loans = pq.ParquetWriter(self.directory / "loans.parquet", table.schema)
        self.loans.write_table(table.cast(self.loans.schema))

    def close(self) -> None:
        self.records.close()
        if self.loans is not None:
            self.loans.close()
        empty_bad = pa.table(
            {
                n: pa.array([], pa.string())
                for n in ("feed", "file", "row", "column", "problem", "value")
            }
        )
        bad = pa.concat_tables(self.bad) if self.bad else empty_bad
        pacsv.write_csv(bad, self.directory / "bad_rows.csv")
        empty_dup = pa.table(
            {n: pa.array([], pa.string()) for n in ("feed", "file", "row", "duplicate_of")}
        )
        dups = pa.concat_tables(self.dups) if self.dups else empty_dup
        pacsv.write_csv(dups, self.directory / "duplicates.csv")


class _Delivery:
    """Writes each feed's chunks through the mess (bad rows, duplicates) into its file."""

    def __init__(self, out_dir: Path, truth: _Truth, config: SimulationConfig) -> None:
        self.writers = {spec.feed: FeedWriter(out_dir, spec) for spec in DELIVERY}
        self.truth = truth
        self.config = config
        self.result_bad: dict[str, int] = dict.fromkeys(self.writers, 0)
        self.result_dups: dict[str, int] = dict.fromkeys(self.writers, 0)

    def write(self, feed: str, rows: Columns, rng: np.random.Generator) -> None:
        writer = self.writers[feed]
        typed = writer.spec.fmt == "parquet"
        rows, bad = mess.corrupt(feed, rows, rng, self.config.bad_row_rate, typed)
        rows, originals = mess.duplicate(rows, rng, self.config.duplicate_rate, bad.rows)
        n_rows = len(next(iter(rows.values())))
        offset = writer.rows_written
        n_original = n_rows - len(originals)
        if len(bad.rows):
            self.truth.bad.append(
                pa.table(
                    {
                        "feed": np.full(len(bad.rows), feed),
                        "file": np.full(len(bad.rows), writer.spec.filename),
                        "row": (offset + bad.rows + 1).astype(str),
                        "column": bad.columns,
                        "problem": bad.problems,
                        "value": bad.values,
                    }
                )
            )
        if len(originals):
            self.truth.dups.append(
                pa.table(
                    {
                        "feed": np.full(len(originals), feed),
                        "file": np.full(len(originals), writer.spec.filename),
                        "row": (offset + n_original + np.arange(len(originals)) + 1).astype(str),
                        "duplicate_of": (offset + originals + 1).astype(str),
                    }
                )
            )
        self.result_bad[feed] += len(bad.rows)
        self.result_dups[feed] += len(originals)
        writer.write(rows)

    def close(self) -> dict[str, int]:
        for writer in self.writers.values():
            writer.close()
        return {feed: writer.rows_written for feed, writer in self.writers.items()}


def core_enterprises(region: Region) -> np.ndarray:
    """The region's largest active manufacturers: the cores of its supply chains."""
    b = region.businesses
    manufacturing = np.array([p.manufacturing for p in INDUSTRIES])[b.industry]
    candidates = np.nonzero((b.entity_type == ENTERPRISE) & manufacturing & (b.status == 0))[0]
    count = min(len(candidates), max(3, len(b) // 2000))
    return candidates[np.argsort(-b.base_revenue[candidates])[:count]]


def simulate(
    out_dir: Path, config: SimulationConfig, progress: Progress | None = None
) -> SimulationResult:
    """Simulate a region and write its delivery and truth into ``out_dir``."""
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    window = Window(config.as_of, config.history_months, config.future_months)
    region = make_region(config.seed, config.entities, window)
    serial = np.random.default_rng([config.seed, 1]).permutation(config.entities)
    cores = core_enterprises(region)
    truth = _Truth(out_dir / "truth")
    delivery = _Delivery(out_dir, truth, config)
    n_chunks = max(1, -(-config.entities // CHUNK_BUSINESSES))
    for k in range(n_chunks):
        index = np.arange(k * CHUNK_BUSINESSES, min((k + 1) * CHUNK_BUSINESSES, config.entities))
        rng = np.random.default_rng([config.seed, 2, k])
        chunk = Chunk(region, index, rng, serial, cores)
        _write_chunk(chunk, delivery, truth, rng)
        if progress:
            progress("businesses", int(index[-1]) + 1, config.entities)
    rng = np.random.default_rng([config.seed, 3])
    households, household_loans = activity.households_rows(region, rng)
    delivery.write("households", households, rng)
    delivery.write("loans", _in_delivery(household_loans), rng)
    truth.add_loans(household_loans.truth, household_loans.in_delivery)
    rows = delivery.close()
    _write_entities(truth.directory, region)
    truth.close()
    result = SimulationResult(
        out_dir=out_dir,
        rows=rows,
        bad_rows=delivery.result_bad,
        duplicates=delivery.result_dups,
        seconds=time.perf_counter() - started,
    )
    _write_manifest(truth.directory, config, result)
    return result


def _in_delivery(loans: activity.Loans) -> Columns:
    return {name: values[loans.in_delivery] for name, values in loans.rows.items()}


def _write_chunk(
    chunk: Chunk, delivery: _Delivery, truth: _Truth, rng: np.random.Generator
) -> None:
    delivery.write("registrations", activity.registrations_rows(chunk), rng)
    delivery.write("shareholders", activity.shareholders_rows(chunk), rng)
    delivery.write("abnormal", activity.abnormal_rows(chunk), rng)
    delivery.write("tax", activity.tax_rows(chunk), rng)
    delivery.write("tax_grade", activity.tax_grade_rows(chunk), rng)
    delivery.write("social_insurance", activity.social_insurance_rows(chunk), rng)
    accounts = activity.utility_accounts(chunk)
    truth.add_records(
        "utilities", _join(accounts.utility, "|", accounts.account_no), chunk.uscc(accounts.local)
    )
    delivery.write("utilities", activity.utilities_rows(chunk, accounts), rng)
    penalties, owners = activity.penalties_rows(chunk)
    truth.add_records("penalties", penalties["decision_no"], owners)
    delivery.write("penalties", penalties, rng)
    court, parties = activity.court_rows(chunk)
    truth.add_records("court", _join(court["case_no"], "|", court["party_name"]), parties)
    delivery.write("court", court, rng)
    prop, owners = activity.property_rows(chunk)
    truth.add_records("property", prop["cert_no"], owners)
    delivery.write("property", prop, rng)
    delivery.write("honors", activity.honors_rows(chunk), rng)
    delivery.write("carbon", activity.carbon_rows(chunk), rng)
    loans = activity.business_loans(chunk)
    delivery.write("loans", _in_delivery(loans), rng)
    truth.add_loans(loans.truth, loans.in_delivery)
    delivery.write("orders", activity.orders_rows(chunk), rng)


def _write_entities(directory: Path, region: Region) -> None:
    b = region.businesses
    window = region.window
    onset = np.where(
        b.distress_month == NO_MONTH,
        np.datetime64("NaT", "M"),
        window.start + np.where(b.distress_month == NO_MONTH, 0, b.distress_month),
    )
    table = pa.table(
        {
            "uscc": b.uscc,
            "name": b.name,
            "entity_type": ENTITY_TYPE_NAMES[b.entity_type],
            "industry_code": np.array([p.code for p in INDUSTRIES])[b.industry],
            "status": STATUS_NAMES[b.status],
            "soundness": b.soundness,
            "true_pd_12m": b.pd_12m,
            "trouble_onset": pa.array(onset.astype("datetime64[D]")),
            "employees": b.employees,
            "base_revenue": b.base_revenue,
            "legal_rep_index": b.legal_rep,
        }
    )
    pq.write_table(table, directory / "entities.parquet")


def _write_manifest(directory: Path, config: SimulationConfig, result: SimulationResult) -> None:
    manifest = {
        "config": {
            "entities": config.entities,
            "seed": config.seed,
            "as_of": config.as_of.isoformat(),
            "history_months": config.history_months,
            "future_months": config.future_months,
            "bad_row_rate": config.bad_row_rate,
            "duplicate_rate": config.duplicate_rate,
        },
        "files": {
            spec.feed: {
                "file": spec.filename,
                "format": spec.fmt,
                "encoding": spec.encoding if spec.fmt == "csv" else None,
                "headers": "zh" if spec.chinese_headers else "en",
                "rows": result.rows[spec.feed],
                "bad_rows": result.bad_rows[spec.feed],
                "duplicates": result.duplicates[spec.feed],
            }
            for spec in DELIVERY
        },
        "seconds": round(result.seconds, 2),
    }
    (directory / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
