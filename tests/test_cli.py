"""The command line as a user meets it: exit codes and one-line messages, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "puhui.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_db_upgrade_and_status(tmp_path: Path) -> None:
    done = run("db", "upgrade", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1,971 industries" in done.stdout
    assert (tmp_path / "app.db").exists()
    status = run("db", "status", home=tmp_path)
    assert f"revision: {head_revision()}" in status.stdout


def head_revision() -> str:
    """The newest migration, read from the scripts (not a number written down here)."""
    from alembic.script import ScriptDirectory

    from puhui.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def test_simulate_writes_a_delivery(tmp_path: Path) -> None:
    done = run("simulate", str(tmp_path / "out"), "--entities", "200", "--seed", "4", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "registrations.csv").exists()
    assert (tmp_path / "out" / "truth" / "manifest.json").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("simulate", "OUT", "--as-of", "2026-02-30"), "YYYY-MM-DD"),
        (("simulate", "OUT", "--entities", "many"), "--entities"),
        (("simulate", "OUT", "--entities", "0"), "--entities"),
        (("simulate",), "Missing argument"),
        (("no-such-command",), "No such command"),
    ],
)
def test_bad_arguments_get_one_clear_line(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    args = tuple(str(tmp_path / "out") if a == "OUT" else a for a in args)
    done = run(*args, home=tmp_path)
    assert done.returncode == 2
    assert expected in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_simulate_into_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x")
    done = run("simulate", str(target), "--entities", "10", home=tmp_path)
    assert done.returncode == 2
    assert "is not a folder" in done.stderr
    assert "Traceback" not in done.stderr


def test_ingest_writes_the_report_and_quarantine_commands_work(tmp_path: Path) -> None:
    import json

    delivery = tmp_path / "delivery"
    assert run("simulate", str(delivery), "--entities", "300", home=tmp_path).returncode == 0
    report_path = tmp_path / "report.json"
    done = run("ingest", str(delivery), "--report", str(report_path), home=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(report_path.read_text())
    assert len(report["feeds"]) == 15
    for counts in report["feeds"].values():
        assert counts["read"] == counts["loaded"] + counts["unchanged"] + counts["quarantined"]
    again = run("ingest", str(delivery), "--report", str(report_path), home=tmp_path)
    assert again.returncode == 0
    assert all(c["loaded"] == 0 for c in json.loads(report_path.read_text())["feeds"].values())
    listed = run("quarantine", "list", "--feed", "tax", "--limit", "2", home=tmp_path)
    assert listed.returncode == 0
    assert "tax" in listed.stdout
    out = tmp_path / "q.csv"
    exported = run("quarantine", "export", "--out", str(out), home=tmp_path)
    assert exported.returncode == 0
    assert out.read_text().splitlines()[0] == "feed,file,row,column,reason"
    unknown = run("quarantine", "list", "--feed", "weather", home=tmp_path)
    assert unknown.returncode == 2
    assert "no feed named" in unknown.stderr
    missing = run("ingest", str(tmp_path / "nowhere"), home=tmp_path)
    assert missing.returncode == 2
    assert "is not a folder" in missing.stderr


def test_link_features_and_publish_from_the_command_line(tmp_path: Path) -> None:
    delivery = str(tmp_path / "delivery")
    assert run("db", "upgrade", home=tmp_path).returncode == 0
    # Nothing ingested yet: each step says what to do first.
    empty = run("link", home=tmp_path)
    assert empty.returncode == 2
    assert "ingest" in empty.stderr
    assert "Traceback" not in empty.stderr
    steps = [
        ("simulate", delivery, "--entities", "400", "--seed", "8"),
        ("ingest", delivery),
        ("link",),
        ("link", "review", "--limit", "5"),
        ("link", "export", "--out", str(tmp_path / "links.csv")),
        ("link", "evaluate", "--truth", f"{delivery}/truth"),
        ("features", "--as-of", "2026-03-31"),
        ("features", "export", "--as-of", "2026-03-31", "--out", str(tmp_path / "f.parquet")),
        ("features", "list"),
        ("publish", "--as-of", "2026-03-31"),
    ]
    for step in steps:
        done = run(*step, home=tmp_path)
        assert done.returncode == 0, (step, done.stderr)
    header = (tmp_path / "links.csv").read_text().splitlines()[0]
    assert header == "feed,record_key,uscc,method,probability"
    assert (tmp_path / "f.parquet").stat().st_size > 0
    assert "已发布 published" in done.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("features",), "--as-of"),
        (("features", "--as-of", "2026-13-01"), "YYYY-MM-DD"),
        (("features", "export", "--as-of", "2026-01-01"), "--out"),
        (("link", "review", "--feed", "tax"), "--feed"),
        (("link", "--threshold", "2"), "--threshold"),
        (("link", "evaluate", "--truth", "NOWHERE"), "not found"),
        (("publish", "--as-of", "yesterday"), "YYYY-MM-DD"),
    ],
)
def test_bad_link_and_feature_arguments_get_one_clear_line(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    args = tuple(str(tmp_path / "nowhere") if a == "NOWHERE" else a for a in args)
    done = run(*args, home=tmp_path)
    assert done.returncode == 2, done
    assert expected in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
