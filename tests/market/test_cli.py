"""``puhui products create`` and ``puhui market refresh`` as an operator runs them."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import WAREHOUSE_KEY
from tests.puhui_command import run_puhui
from tests.scoring.conftest import featured_warehouse  # noqa: F401  (fixture)


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PUHUI_SECRET_KEY": WAREHOUSE_KEY.decode(), "COLUMNS": "200"}
    return run_puhui(*args, home=home, env=env)


@pytest.mark.slow
def test_create_products_then_refresh_after_scoring(
    featured_warehouse: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    (home / "warehouse").mkdir(parents=True)
    shutil.copy(featured_warehouse, home / "warehouse" / "warehouse.duckdb")
    assert run(home, "db", "upgrade").returncode == 0
    assert run(home, "banks", "create", "--code", "ZJRCB", "--name", "浙江农商银行").returncode == 0

    bad = run(home, "products", "create", "--bank", "ZJRCB", "--name", "x", "--guarantee", "hope")
    assert bad.returncode == 2
    assert "guarantee" in bad.stderr
    made = run(
        home, "products", "create", "--bank", "ZJRCB", "--name", "小微快贷",
        "--tiers", "growth,development", "--min-credit-points", "600", "--popularity", "20",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "(published)" in made.stdout
    draft = run(home, "products", "create", "--bank", "ZJRCB", "--name", "草稿", "--draft")
    assert "(draft)" in draft.stdout
    listed = run(home, "products", "list", "--bank", "ZJRCB")
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"ZJRCB\s+published\s+小微快贷", listed.stdout)
    assert re.search(r"ZJRCB\s+draft\s+草稿", listed.stdout)
    assert "2 product(s)" in listed.stdout

    early = run(home, "market", "refresh", "--as-of", "2026-06-30")
    assert early.returncode == 2
    assert "puhui score --as-of 2026-06-30" in early.stderr

    assert run(home, "model", "train", "--as-of", "2026-06-30").returncode == 0
    assert run(home, "score", "--as-of", "2026-06-30").returncode == 0
    done = run(home, "market", "refresh", "--as-of", "2026-06-30")
    assert done.returncode == 0, done.stderr
    pattern = r"to 1 published product\(s\) as of 2026-06-30: ([\d,]+) eligible"
    found = re.search(pattern, done.stdout)
    assert found, done.stdout
    assert int(found.group(1).replace(",", "")) > 0
