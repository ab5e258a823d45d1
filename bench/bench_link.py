"""Link speed and accuracy: ``puhui link`` on a simulated region, wall time and peak memory.

For a simulated delivery (made first if missing, shared with bench_ingest), ingests it into
a fresh warehouse, then times ``run_link`` and prints the records per method and the
accuracy against the truth. Peak memory is the process's maximum resident set size (the
linker and DuckDB run in this process).

Run: ``python bench/bench_link.py [BUSINESSES] [--dir DELIVERY]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from puhui.ingest.service import ingest_delivery
from puhui.ingest.warehouse import connect
from puhui.link.service import evaluate, run_link


def delivery_dir(businesses: int, directory: Path | None) -> Path:
    if directory is None:
        directory = Path(tempfile.gettempdir()) / f"puhui-bench-delivery-{businesses}"
    if not (directory / "truth" / "manifest.json").exists():
        from puhui.simulate.service import SimulationConfig, simulate

        print(f"simulating {businesses:,} businesses into {directory} ...", flush=True)
        simulate(directory, SimulationConfig(entities=businesses, seed=1, as_of=date(2026, 6, 30)))
    return directory


def main(businesses: int, directory: Path | None) -> None:
    directory = delivery_dir(businesses, directory)
    with tempfile.TemporaryDirectory(prefix="puhui-bench-link-") as tmp:
        con = connect(Path(tmp) / "w.duckdb", b"bench-key")
        started = time.perf_counter()
        ingest_delivery(con, directory)
        ingest_s = time.perf_counter() - started
        started = time.perf_counter()
        report = run_link(con)
        link_s = time.perf_counter() - started
        results = evaluate(con, directory / "truth")
        con.close()
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(
        f"businesses {businesses:,}: ingest {ingest_s:.1f} s, link {link_s:.1f} s, "
        f"peak RSS {peak_gib:.1f} GiB"
    )
    header = ("feed", "records", "uscc", "person", "prob.", "review", "precision", "recall")
    print(" ".join(f"{h:>11}" for h in header))
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
        print(" ".join(f"{x:>11}" for x in cells), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("businesses", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    main(args.businesses, args.dir)
    sys.exit(0)
