"""The pipeline after ingest: link, features, profiles — wall time, memory, accuracy.

For a simulated delivery (made first if missing, shared with bench_ingest), ingests it into
a fresh warehouse, then times ``run_link`` (printing records per method and the accuracy
against the truth), ``compute_features`` as of the region's as-of date, ``publish_profiles``
into a fresh SQLite app database, and 2,000 reads of one profile by a random uscc
(p50 / p99). Peak memory is the process's maximum resident set size after each step (the
linker, DuckDB and the app database driver all run in this process).

Run: ``python bench/bench_pipeline.py [BUSINESSES] [--dir DELIVERY]``.
"""

from __future__ import annotations

import os
import random
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from puhui.db import make_engine, session_factory, unit_of_work, upgrade
from puhui.features.service import compute_features, get_profile, publish_profiles
from puhui.ingest.service import ingest_delivery
from puhui.ingest.warehouse import connect
from puhui.link.service import evaluate, run_link
from regions import AS_OF, delivery_dir, print_row, run_from_command_line


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main(businesses: int, directory: Path | None) -> None:
    directory = delivery_dir(businesses, directory)
    with tempfile.TemporaryDirectory(prefix="puhui-bench-pipeline-") as tmp:
        con = connect(Path(tmp) / "w.duckdb", b"bench-key")
        # On a shared machine: 3 GB for the warehouse connection, and as much for Splink's
        # own database, which follows the warehouse's cap (6 GB of DuckDB in all).
        con.execute("SET memory_limit = '3GB'")
        started = time.perf_counter()
        ingest_delivery(con, directory)
        ingest_s = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        report = run_link(con)
        link_s, link_cpu = time.perf_counter() - started, time.process_time() - cpu
        link_gib = peak_gib()
        results = evaluate(con, directory / "truth")
        started, cpu = time.perf_counter(), time.process_time()
        entities = compute_features(con, AS_OF)
        features_s, features_cpu = time.perf_counter() - started, time.process_time() - cpu
        features_gib = peak_gib()
        url = f"sqlite:///{tmp}/app.db"
        upgrade(url)
        engine = make_engine(url)
        started = time.perf_counter()
        with unit_of_work(engine) as session:
            published = publish_profiles(con, session, AS_OF)
        publish_s = time.perf_counter() - started
        usccs = [r[0] for r in con.execute("SELECT uscc FROM features").fetchall()]
        con.close()
        reads = []
        session = session_factory(engine)()
        for uscc in random.Random(1).choices(usccs, k=2000):
            started = time.perf_counter()
            get_profile(session, uscc)
            reads.append(time.perf_counter() - started)
        session.close()
        engine.dispose()
    p50, p99 = np.percentile(np.array(reads) * 1000, [50, 99])
    print(f"businesses {businesses:,}: ingest {ingest_s:.1f} s")
    print(
        f"  link       {link_s:7.1f} s   CPU {link_cpu:.1f} s, peak RSS so far {link_gib:.1f} GiB"
    )
    print(
        f"  features   {features_s:7.1f} s   CPU {features_cpu:.1f} s, {entities:,} businesses,"
        f" peak RSS {features_gib:.1f} GiB"
    )
    print(f"  link + features {link_s + features_s:.1f} s   load average {os.getloadavg()[0]:.1f}")
    print(f"  publish    {publish_s:7.1f} s   {published:,} profiles to SQLite")
    print(f"  profile read p50 {p50:.2f} ms, p99 {p99:.2f} ms (SQLite, 2,000 random reads)")
    print(f"  peak RSS {peak_gib():.1f} GiB")
    header = ("feed", "records", "uscc", "person", "prob.", "review", "precision", "recall")
    print_row(header, 11)
    for result in results:
        c = report.feeds[result.feed]
        cells = (
            result.feed,
            f"{c.records:,}",
            f"{c.uscc:,}",
            f"{c.person:,}",
            f"{c.probabilistic:,}",
            f"{c.review:,}",
            f"{result.precision:.4f}",
            f"{result.recall:.4f}",
        )
        print_row(cells, 11)


if __name__ == "__main__":
    run_from_command_line(main)
