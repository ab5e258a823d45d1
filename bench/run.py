"""Run every benchmark in bench/ and print its table (``make bench``).

Figures are written by hand, with the machine, into docs/performance.md.
"""

from __future__ import annotations

import os
import platform

import bench_decisions
import bench_ingest
import bench_market
import bench_pipeline
import bench_scoring
import bench_simulate


def main() -> None:
    python = platform.python_version()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {python}")
    print("\n== simulate ==")
    bench_simulate.main([100_000, 1_000_000])
    print("\n== ingest (CSV and Parquet, 1,000,000 businesses) ==")
    bench_ingest.main(1_000_000, None)
    print("\n== link, features, profiles (100,000 and 1,000,000 businesses) ==")
    bench_pipeline.main(100_000, None)
    bench_pipeline.main(1_000_000, None)
    print("\n== batch scoring (1,000,000 entities) ==")
    bench_scoring.main(1_000_000, None)
    print("\n== financing supermarket (1,000,000 businesses x 500 products, PostgreSQL) ==")
    bench_market.main(1_000_000, None)
    print("\n== real-time decisions under load (puhui serve, PostgreSQL, 2 workers) ==")
    bench_decisions.main()


if __name__ == "__main__":
    main()
