"""Loading deliveries: exact quarantine, counts that add up, idempotence, replacement,
unreadable files, atomicity under SIGKILL, and no clear person id in the warehouse."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from puhui.ingest.service import export_quarantine, ingest_delivery
from puhui.ingest.warehouse import connect
from puhui.simulate.service import SimulationConfig, simulate

KEY = b"test-key-for-person-hashes-00000"
_ID_OR_PHONE = re.compile(r"[0-9]{17}[0-9X]|1[0-9]{10}")


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("delivery")
    simulate(out, SimulationConfig(entities=1500, seed=21, as_of=date(2026, 6, 30)))
    return out


@pytest.fixture
def warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return connect(tmp_path / "w.duckdb", KEY)


def test_quarantine_is_exactly_the_bad_rows_and_counts_add_up(
    delivery: Path, warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    report = ingest_delivery(warehouse, delivery)
    assert report.file_errors == []
    manifest = json.loads((delivery / "truth" / "manifest.json").read_text())
    truth_dups = pd.read_csv(delivery / "truth" / "duplicates.csv").groupby("feed").size()
    for feed, counts in report.feeds.items():
        assert counts.read == manifest["files"][feed]["rows"], feed
        assert counts.read == counts.loaded + counts.unchanged + counts.quarantined
        assert counts.quarantined == manifest["files"][feed]["bad_rows"], feed
        assert counts.unchanged == truth_dups.get(feed, 0), feed  # re-sent rows change nothing
    assert len(report.feeds) == 15

    out = tmp_path / "q.csv"
    export_quarantine(warehouse, out)
    exported = pd.read_csv(out, dtype=str)
    assert list(exported.columns) == ["feed", "file", "row", "column", "reason"]
    truth = pd.read_csv(delivery / "truth" / "bad_rows.csv", dtype=str)
    got = set(zip(exported.feed, exported.file, exported.row, exported.column, strict=True))
    want = set(zip(truth.feed, truth.file, truth.row, truth.column, strict=True))
    assert got == want


def test_second_ingest_of_the_same_delivery_loads_nothing(
    delivery: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    first = ingest_delivery(warehouse, delivery)
    tables = ["feed_tax", "feed_registrations", "feed_utilities", "quarantine"]
    before = {t: warehouse.execute(f"SELECT count(*) FROM {t}").fetchall()[0] for t in tables}
    second = ingest_delivery(warehouse, delivery)
    assert second.delivery_id == first.delivery_id
    assert all(c.loaded == 0 for c in second.feeds.values())
    after = {t: warehouse.execute(f"SELECT count(*) FROM {t}").fetchall()[0] for t in tables}
    assert after == before


def _write_tax(directory: Path, rows: list[tuple[str, str, str]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["uscc,period,revenue,tax_paid,arrears"]
    lines += [f"{u},{p},{r},1.00,0" for u, p, r in rows]
    (directory / "tax.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_later_delivery_replaces_rows_with_the_same_key(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    code_a, code_b = "91110000600037341L", "91331002123456788L"
    _write_tax(tmp_path / "d1", [(code_a, "2025-01", "100.00"), (code_b, "2025-01", "5.00")])
    _write_tax(
        tmp_path / "d2",
        [(code_a, "2025-01", "250.00"), (code_b, "2025-01", "5.00"), (code_a, "2025-02", "7")],
    )
    ingest_delivery(warehouse, tmp_path / "d1")
    report = ingest_delivery(warehouse, tmp_path / "d2")
    counts = report.feeds["tax"]
    assert (counts.read, counts.loaded, counts.unchanged, counts.quarantined) == (3, 2, 1, 0)
    rows = warehouse.execute(
        "SELECT uscc, period, revenue FROM feed_tax ORDER BY uscc, period"
    ).fetchall()
    assert [(u, p, float(r)) for u, p, r in rows] == [
        (code_a, "2025-01", 250.0),
        (code_a, "2025-02", 7.0),
        (code_b, "2025-01", 5.0),
    ]


def test_unreadable_files_are_reported_and_the_rest_loads(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    directory = tmp_path / "d"
    _write_tax(directory, [("91110000600037341L", "2025-01", "1")])
    (directory / "carbon.parquet").write_bytes(b"PAR1 this is not parquet")
    (directory / "weather.csv").write_text("a,b\n1,2\n")
    report = ingest_delivery(warehouse, directory)
    assert report.feeds["tax"].loaded == 1
    errors = {e.file: e for e in report.file_errors}
    assert set(errors) == {"carbon.parquet", "weather.csv"}
    assert all(e.reason_zh and e.reason_en for e in errors.values())
    stored = warehouse.execute("SELECT file FROM file_errors ORDER BY file").fetchall()
    assert stored == [("carbon.parquet",), ("weather.csv",)]


def test_no_clear_person_id_reaches_the_warehouse(
    delivery: Path, warehouse: duckdb.DuckDBPyConnection
) -> None:
    ingest_delivery(warehouse, delivery)
    registrations = pd.read_csv(
        delivery / "registrations.csv", dtype=str, encoding="gb18030", keep_default_na=False
    )
    clear = set(registrations["法定代表人证件号码"]) | set(registrations["联系电话"]) - {""}
    columns = warehouse.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE data_type IN ('VARCHAR', 'JSON') AND table_schema = 'main'"
    ).fetchall()
    for table, column in columns:
        values = warehouse.execute(f'SELECT DISTINCT CAST("{column}" AS VARCHAR) FROM {table}')
        found = {v for (v,) in values.fetchall() if v is not None}
        # Any run that looks like an id or a phone, anywhere in a value (JSON included).
        leaked = {v for v in found if set(_ID_OR_PHONE.findall(v)) & clear}
        assert not leaked, (table, column, list(leaked)[:2])


KILLER = """
import sys
from pathlib import Path
from puhui.ingest.service import ingest_delivery
from puhui.ingest.warehouse import connect
con = connect(Path(sys.argv[1]), b"test-key-for-person-hashes-00000")
def progress(name, done, total):
    print(f"file {done} {name}", flush=True)
ingest_delivery(con, Path(sys.argv[2]), progress)
print("finished", flush=True)
"""


@pytest.mark.slow
def test_a_kill_in_the_middle_leaves_the_warehouse_as_it_was(
    delivery: Path, tmp_path: Path
) -> None:
    path = tmp_path / "w.duckdb"
    small = tmp_path / "small"
    _write_tax(small, [("91110000600037341L", "2025-01", "1")])
    con = connect(path, KEY)
    ingest_delivery(con, small)
    con.close()

    child = subprocess.Popen(
        [sys.executable, "-c", KILLER, str(path), str(delivery)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith("file 24 "):  # all files staged, nine feeds merged, uncommitted
            child.send_signal(signal.SIGKILL)
            break
    child.wait(timeout=120)
    assert child.returncode == -signal.SIGKILL

    con = connect(path, KEY)
    assert con.execute("SELECT count(*) FROM deliveries").fetchall()[0] == (1,)
    assert con.execute("SELECT count(*) FROM feed_tax").fetchall()[0] == (1,)
    for table in ("feed_registrations", "feed_utilities", "feed_abnormal", "quarantine"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchall()[0] == (0,), table
    # And the same delivery then loads completely.
    report = ingest_delivery(con, delivery)
    assert report.feeds["registrations"].loaded > 0


def test_a_file_that_breaks_part_way_is_reported_and_the_rest_loads(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    directory = tmp_path / "d"
    _write_tax(directory, [("91110000600037341L", "2025-01", "1")])
    good = "uscc,year,grade\n" + "91110000600037341L,2024,A\n" * 3
    # A ragged row deep in the file: the header and the first rows read fine.
    (directory / "tax_grade.csv").write_text(good * 200_000 + "x,y,z,w\n", encoding="utf-8")
    report = ingest_delivery(warehouse, directory)
    assert report.feeds["tax"].loaded == 1
    assert [e.file for e in report.file_errors] == ["tax_grade.csv"]
    assert warehouse.execute("SELECT count(*) FROM feed_tax_grade").fetchall() == [(0,)]
    tables = warehouse.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'stage_%'"
    ).fetchall()
    assert tables == [(0,)]


def test_extra_columns_with_the_loaders_own_names_are_kept(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    directory = tmp_path / "d"
    directory.mkdir()
    (directory / "tax.csv").write_text(
        "uscc,period,revenue,tax_paid,_error_zh,_row,备注\n91110000600037341L,2025-01,1,0,x,y,z\n",
        encoding="utf-8",
    )
    report = ingest_delivery(warehouse, directory)
    assert report.feeds["tax"].loaded == 1
    extra = warehouse.execute("SELECT extra FROM feed_tax").fetchall()[0][0]
    assert json.loads(extra) == {"x_error_zh": "x", "x_row": "y", "备注": "z"}
