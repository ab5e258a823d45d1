"""Simulate time and peak memory at 100,000 and 1,000,000 businesses.

Each size runs in its own process; peak memory is RUSAGE_CHILDREN's maximum so far, which is
the run's own as long as sizes go up.
Run: ``python bench/bench_simulate.py [SIZES...]`` (default 100000 1000000).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, sys, time
from datetime import date
from pathlib import Path
from puhui.simulate.service import SimulationConfig, simulate
n, out = int(sys.argv[1]), Path(sys.argv[2])
result = simulate(out, SimulationConfig(entities=n, seed=1, as_of=date(2026, 6, 30)))
print(json.dumps({"rows": sum(result.rows.values()), "seconds": result.seconds}))
"""


def run(size: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="puhui-bench-") as tmp:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(size), tmp],
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - started
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        size_mib = sum(f.stat().st_size for f in Path(tmp).rglob("*") if f.is_file()) / 2**20
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "businesses": size,
        "rows": result["rows"],
        "simulate_s": round(result["seconds"], 1),
        "wall_s": round(wall, 1),
        "peak_rss_mib": round(peak_mib),
        "output_mib": round(size_mib),
    }


def main(sizes: list[int]) -> list[dict[str, float]]:
    results = []
    header = ("businesses", "rows", "simulate s", "wall s", "peak MiB", "out MiB")
    print(" ".join(f"{h:>12}" for h in header))
    for size in sizes:
        r = run(size)
        results.append(r)
        cells = ("businesses", "rows", "simulate_s", "wall_s", "peak_rss_mib", "output_mib")
        print(" ".join(f"{r[c]:>12,}" for c in cells), flush=True)
    return results


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])
