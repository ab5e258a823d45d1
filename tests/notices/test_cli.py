"""``puhui worker`` and ``puhui notices`` as an operator types them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from puhui.db import make_engine, unit_of_work
from puhui.notices.models import Notice
from tests.notices.factories import EMAIL, PHONE, make_notice


def run(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "puhui.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200", **env},
    )


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    template = tmp_path_factory.mktemp("notices-cli")
    done = run(template, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    return template / "app.db"


@pytest.fixture
def home(tmp_path: Path, migrated: Path) -> Path:
    """A region home with a migrated app database of its own (a copy: migrating is slow)."""
    shutil.copy(migrated, tmp_path / "app.db")
    return tmp_path


def queue(home: Path, channel: str, count: int = 1) -> list[int]:
    engine = make_engine(f"sqlite:///{home / 'app.db'}")
    with unit_of_work(engine) as session:
        ids = [make_notice(session, channel).id for _ in range(count)]
    engine.dispose()
    return ids


def statuses(home: Path) -> dict[int, tuple[str, int]]:
    engine = make_engine(f"sqlite:///{home / 'app.db'}")
    with unit_of_work(engine) as session:
        found = {n.id: (n.status, n.attempts) for n in session.scalars(select(Notice))}
    engine.dispose()
    return found


def test_worker_once_delivers_through_the_console_masked(home: Path) -> None:
    sms = queue(home, "sms", 2)
    (mail,) = queue(home, "email")
    done = run(home, "worker", "--once")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("138****5678") == 2
    assert "z***@example.com" in done.stdout
    assert PHONE not in done.stdout + done.stderr
    assert EMAIL not in done.stdout + done.stderr
    assert "sent 3, retry later 0, dead 0" in done.stdout
    assert statuses(home) == {sms[0]: ("sent", 1), sms[1]: ("sent", 1), mail: ("sent", 1)}
    listed = run(home, "notices", "list", "--status", "sent")
    assert listed.returncode == 0, listed.stderr
    assert "138****5678" in listed.stdout
    assert PHONE not in listed.stdout
    assert "sent 3" in listed.stdout


def test_a_gateway_that_is_down_keeps_notices_for_the_operator(home: Path) -> None:
    ids = queue(home, "sms", 2)
    gateway = {
        "PUHUI_NOTICE_SMS_SENDER": "http",
        "PUHUI_SMS_GATEWAY_URL": "http://127.0.0.1:9/sms",  # discard port: refused
        "PUHUI_NOTICE_MAX_ATTEMPTS": "1",
    }
    done = run(home, "worker", "--once", **gateway)
    assert done.returncode == 0, done.stderr
    assert "unavailable: sms" in done.stdout
    assert statuses(home) == {ids[0]: ("dead", 1), ids[1]: ("pending", 0)}
    dead = run(home, "notices", "list", "--status", "dead")
    assert f"{ids[0]}: SMS gateway unreachable" in dead.stdout
    # The operator fixes the gateway (here: back to the console) and sends it again.
    retried = run(home, "notices", "retry", str(ids[0]))
    assert retried.returncode == 0, retried.stderr
    assert statuses(home)[ids[0]] == ("pending", 0)
    again = run(home, "notices", "retry", str(ids[0]))
    assert again.returncode == 2
    assert "only a dead notice can be retried" in again.stderr
    assert "Traceback" not in again.stderr
    assert run(home, "worker", "--once").returncode == 0
    assert {status for status, _ in statuses(home).values()} == {"sent"}


def test_bad_arguments_and_settings_are_one_line(
    home: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    misconfigured = run(home, "worker", "--once", PUHUI_NOTICE_SMS_SENDER="http")
    assert misconfigured.returncode == 2
    assert "PUHUI_SMS_GATEWAY_URL is not set" in misconfigured.stderr
    assert "Traceback" not in misconfigured.stderr
    bad_status = run(home, "notices", "list", "--status", "lost")
    assert bad_status.returncode == 2
    assert "status must be one of pending, sent, dead" in bad_status.stderr
    neither = run(home, "notices", "retry")
    assert neither.returncode == 2
    assert "give one notice id, or --all" in neither.stderr
    assert run(home, "worker", "--batch", "0").returncode != 0
    empty = run(tmp_path_factory.mktemp("empty"), "worker", "--once")
    assert empty.returncode == 2
    assert "run puhui db upgrade first" in empty.stderr


def test_worker_stops_gracefully_on_sigterm(home: Path) -> None:
    queue(home, "sms", 3)
    worker = subprocess.Popen(
        [sys.executable, "-m", "puhui.cli", "--home", str(home), "worker", "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert worker.stdout is not None
        seen = []
        for line in worker.stdout:  # wait until it has delivered the queued notices
            seen.append(line)
            if line.startswith("投递 delivery: sent 3"):
                break
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    assert any("worker started" in line for line in seen)
    assert "worker stopped: sent 3" in out
    assert "stopping after the notice in hand" in err
