"""Simulated deliveries shared by the benchmarks, made once per size and kept in /tmp."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path

AS_OF = date(2026, 6, 30)


def delivery_dir(businesses: int, directory: Path | None = None) -> Path:
    """The delivery of ``businesses`` businesses (seed 1), simulated first if missing."""
    if directory is None:
        directory = Path(tempfile.gettempdir()) / f"puhui-bench-delivery-{businesses}"
    if not (directory / "truth" / "manifest.json").exists():
        from puhui.simulate.service import SimulationConfig, simulate

        print(f"simulating {businesses:,} businesses into {directory} ...", flush=True)
        simulate(directory, SimulationConfig(entities=businesses, seed=1, as_of=AS_OF))
    return directory


def run_from_command_line(main: Callable[[int, Path | None], None]) -> None:
    """``python bench/<script>.py [BUSINESSES] [--dir DELIVERY]``: call ``main`` with them."""
    parser = argparse.ArgumentParser()
    parser.add_argument("businesses", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    main(args.businesses, args.dir)


def print_row(cells: Iterable[object], width: int) -> None:
    """One line of a benchmark's table: every cell right-aligned in ``width`` characters."""
    print(" ".join(f"{cell!s:>{width}}" for cell in cells), flush=True)
