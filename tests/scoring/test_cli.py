"""``puhui model`` and ``puhui score`` as an operator runs them, on the shared region."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import WAREHOUSE_KEY
from tests.puhui_command import run_puhui


@pytest.fixture(scope="module")
def home(featured_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("home")
    (home / "warehouse").mkdir()
    shutil.copy(featured_warehouse, home / "warehouse" / "warehouse.duckdb")
    return home


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PUHUI_SECRET_KEY": WAREHOUSE_KEY.decode(), "COLUMNS": "160"}
    return run_puhui(*args, home=home, env=env)


def test_train_score_report_promote(home: Path, linked_region: tuple[Path, Path]) -> None:
    assert run(home, "db", "upgrade").returncode == 0
    early = run(home, "score", "--as-of", "2026-06-30")
    assert early.returncode == 2
    assert "puhui model train" in early.stderr

    trained = run(home, "model", "train", "--as-of", "2026-06-30")
    assert trained.returncode == 0, trained.stderr
    assert "champion" in trained.stdout
    assert "challenger" in trained.stdout
    listed = run(home, "model", "list")
    assert "scorecard" in listed.stdout
    assert "lightgbm" in listed.stdout

    scored = run(home, "score", "--as-of", "2026-06-30")
    assert scored.returncode == 0, scored.stderr
    assert "challengers 2" in scored.stdout
    out = home / "scores.csv"
    exported = run(home, "score", "export", "--as-of", "2026-06-30", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    with out.open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    assert header[:10] == [
        "uscc", "score", "pd", "tier", "credit_points", "pre_credit_limit", "rate",
        "reason_1", "reason_2", "reason_3",
    ]  # fmt: skip
    assert header[10:] == [
        "challenger_2_score", "challenger_2_pd", "challenger_2_reason_1",
        "challenger_2_reason_2", "challenger_2_reason_3",
    ]  # fmt: skip

    report = run(home, "model", "report", "1", "--out", str(home / "report"))
    assert report.returncode == 0, report.stderr
    assert (home / "report" / "index.html").exists()
    assert (home / "report" / "scorecard-1.json").exists()
    assert (home / "report" / "points-1.csv").read_text().startswith("variable,bin,")
    compared = run(home, "model", "compare", "1", "2")
    assert compared.returncode == 0, compared.stderr
    monitored = run(home, "model", "monitor", "--as-of", "2026-06-30")
    assert monitored.returncode == 0, monitored.stderr
    assert "score" in monitored.stdout
    evaluated = run(home, "model", "evaluate", "--truth", str(linked_region[0] / "truth"))
    assert evaluated.returncode == 0, evaluated.stderr
    assert "oracle" in evaluated.stdout

    # The LightGBM challenger becomes the champion and scores the region itself.
    assert run(home, "model", "promote", "2").returncode == 0
    again = run(home, "score", "--as-of", "2026-06-30")
    assert again.returncode == 0, again.stderr
    assert "with model 2" in again.stdout
    refused = run(home, "model", "promote", "1")
    assert refused.returncode == 2
    assert "only a challenger" in refused.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("model", "train"), "--as-of"),
        (("model", "train", "--as-of", "2026-02-30"), "YYYY-MM-DD"),
        (("model", "report", "77", "--out", "x"), "no model 77"),
        (("model", "report", "1", "--out", "x", "--lang", "fr"), "--lang"),
        (("model", "promote", "abc"), "model_id"),
        (("score",), "--as-of"),
        (("score", "export", "--as-of", "2020-01-01", "--out", "x.csv"), "no scores"),
        (("model", "evaluate", "--truth", "NOWHERE"), "not a simulator truth folder"),
    ],
)
def test_bad_model_arguments_get_one_clear_line(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    assert run(tmp_path, "db", "upgrade").returncode == 0
    args = tuple(str(tmp_path / "nowhere") if a == "NOWHERE" else a for a in args)
    done = run(tmp_path, *args)
    assert done.returncode == 2, done
    assert expected in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
