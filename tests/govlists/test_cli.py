"""``puhui govlists`` and ``puhui report service`` as a user meets them: one line per bad row,
one clear line for a bad file, no tracebacks."""

from __future__ import annotations

import subprocess
from pathlib import Path

from openpyxl import load_workbook

from tests.govlists.factories import uscc
from tests.puhui_command import run_puhui


def run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return run_puhui(*args, home=home)


def test_import_push_list_and_the_report(tmp_path: Path) -> None:
    assert run("db", "upgrade", home=tmp_path).returncode == 0
    assert (
        run("banks", "create", "--code", "BANKA", "--name", "甲银行", home=tmp_path).returncode == 0
    )
    members = tmp_path / "members.csv"
    members.write_text(f"统一社会信用代码,备注\n{uscc(1)},甲\n91331002ABC,乙\n{uscc(2)},丙\n")

    done = run(
        "govlists", "import", "--code", "KJ2026", "--name", "科技型企业", "--kind", "tech",
        str(members), home=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "added 2" in done.stdout
    assert "refused 1" in done.stdout
    assert "row 2" in done.stderr
    assert "18" in done.stderr

    again = run(
        "govlists", "import", "--code", "KJ2026", "--name", "另一个", "--kind", "tech",
        str(members), home=tmp_path,
    )  # fmt: skip
    assert again.returncode == 2
    assert "exists" in again.stderr

    pushed = run("govlists", "push", "KJ2026", "--bank", "BANKA", home=tmp_path)
    assert pushed.returncode == 0, pushed.stderr
    assert "BANKA" in pushed.stdout
    unknown = run("govlists", "push", "KJ2026", "--bank", "NOPE", home=tmp_path)
    assert unknown.returncode == 2
    assert "NOPE" in unknown.stderr
    listed = run("govlists", "list", home=tmp_path)
    assert "KJ2026" in listed.stdout
    assert "pushed" in listed.stdout

    broken = tmp_path / "broken.csv"
    broken.write_text("名称\n某公司\n")
    bad = run(
        "govlists", "import", "--code", "X", "--name", "x", "--kind", "tech", str(broken),
        home=tmp_path,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "uscc" in bad.stderr
    assert "Traceback" not in bad.stderr + bad.stdout

    out = tmp_path / "report" / "june.xlsx"
    report = run(
        "report", "service", "--start", "2026-06-01", "--end", "2026-06-30", "--out", str(out),
        home=tmp_path,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    assert load_workbook(out).sheetnames[0] == "排名"
    backwards = run(
        "report", "service", "--start", "2026-06-30", "--end", "2026-06-01", "--out", str(out),
        home=tmp_path,
    )  # fmt: skip
    assert backwards.returncode == 2
    assert "before the start" in backwards.stderr
