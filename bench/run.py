"""Run every benchmark in bench/ and print its table (``make bench``).

Figures are written by hand, with the machine, into docs/performance.md.
"""

from __future__ import annotations

import os
import platform

import bench_simulate


def main() -> None:
    python = platform.python_version()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {python}")
    print("\n== simulate ==")
    bench_simulate.main([100_000, 1_000_000])


if __name__ == "__main__":
    main()
