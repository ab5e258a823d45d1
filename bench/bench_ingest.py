"""Ingest speed: rows per second from CSV and from Parquet, against DuckDB's raw read.

For a simulated delivery (made first if missing) this times, per feed file:

* ``raw``: DuckDB's own ``read_csv`` / ``read_parquet`` of the same file into an in-memory
  table, all columns as text, no validation (the ceiling of this stack);
* ``raw load``: the same read into a table of a warehouse file, committed: a load with no
  validation, the ceiling of a load;
* ``ingest``: ``puhui ingest`` of a delivery holding only that file, into a new warehouse
  (reading, checking, quarantining, hashing person ids and merging by key).

Each is timed by the clock and by the CPU time of the process (all DuckDB threads). On a
machine shared with other work the clock ratio swings with the neighbours' load; the CPU
ratio much less. Every DuckDB connection is capped at ``MEMORY_LIMIT`` (the raw reads fit
in it at 1,000,000 businesses; the ingest's checked rows spill beyond it), and the load
average is printed beside each file.

Run: ``python bench/bench_ingest.py [BUSINESSES] [--dir DELIVERY]``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import duckdb

from puhui.ingest.service import ingest_delivery
from puhui.ingest.warehouse import connect
from regions import delivery_dir, print_row, run_from_command_line

FILES = ("utilities.csv", "social_insurance.csv", "tax.parquet")

#: DuckDB memory cap of every connection here: the machine is shared.
MEMORY_LIMIT = "6GB"


def raw_read(path: Path, database: str = ":memory:") -> tuple[int, float, float]:
    """(rows, seconds, CPU seconds) of DuckDB's own read of ``path`` into a table."""
    con = duckdb.connect(database)
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    started, cpu = time.perf_counter(), time.process_time()
    if path.suffix == ".csv":
        source = f"read_csv('{path}', all_varchar = true, header = true)"
    else:
        source = f"read_parquet('{path}')"
    con.execute(f"CREATE TABLE raw AS SELECT * FROM {source}")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    rows = con.execute("SELECT count(*) FROM raw").fetchall()[0][0]
    con.close()
    return int(rows), seconds, cpu


def ingest_one(path: Path) -> tuple[int, float, float]:
    """(rows read, seconds, CPU seconds) of ingesting ``path`` alone into a new warehouse."""
    with tempfile.TemporaryDirectory(prefix="puhui-bench-ingest-") as tmp:
        delivery = Path(tmp) / "delivery"
        delivery.mkdir()
        os.link(path, delivery / path.name)
        con = connect(Path(tmp) / "w.duckdb", b"bench-key")
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        started, cpu = time.perf_counter(), time.process_time()
        report = ingest_delivery(con, delivery)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        con.close()
    counts = next(iter(report.feeds.values()))
    return counts.read, seconds, cpu


def main(businesses: int, directory: Path | None) -> None:
    directory = delivery_dir(businesses, directory)
    header = (
        "file",
        "rows",
        "raw s",
        "raw load s",
        "ingest s",
        "ingest rows/s",
        "vs raw",
        "vs load",
        "raw cpu s",
        "ingest cpu s",
        "cpu vs raw",
        "load avg",
    )
    print_row(header, 16)
    for name in FILES:
        path = directory / name
        rows, raw_s, raw_cpu = raw_read(path)
        with tempfile.TemporaryDirectory(prefix="puhui-bench-raw-") as tmp:
            _, load_s, _ = raw_read(path, str(Path(tmp) / "raw.duckdb"))
        read, ingest_s, ingest_cpu = ingest_one(path)
        assert read == rows, (name, read, rows)
        cells = (
            name,
            f"{rows:,}",
            f"{raw_s:.1f}",
            f"{load_s:.1f}",
            f"{ingest_s:.1f}",
            f"{rows / ingest_s:,.0f}",
            f"{ingest_s / raw_s:.1f}x",
            f"{ingest_s / load_s:.1f}x",
            f"{raw_cpu:.1f}",
            f"{ingest_cpu:.1f}",
            f"{ingest_cpu / raw_cpu:.1f}x",
            " ".join(f"{x:.1f}" for x in os.getloadavg()),
        )
        print_row(cells, 16)


if __name__ == "__main__":
    run_from_command_line(main)
