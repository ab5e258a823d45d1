"""``puhui audit verify`` as an operator runs it: exit 0 with counts when intact, exit 1 with
the first broken entry (in Chinese and English) when something was changed."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from puhui.accounts.actor import Actor
from puhui.consent.service import grant, revoke
from puhui.db import make_engine, unit_of_work
from puhui.settings import Settings
from tests.accounts.factories import USCCS


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "puhui.cli", "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "COLUMNS": "300"},
    )


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with a bank, two consents (one revoked), migrated once for the module."""
    home = tmp_path_factory.mktemp("audit-cli")
    assert run(home, "db", "upgrade").returncode == 0
    assert run(home, "banks", "create", "--code", "BANKA", "--name", "甲银行").returncode == 0
    engine = make_engine(Settings(home=home).app_database_url)
    with unit_of_work(engine) as session:
        platform = Actor.system("test")
        grant(session, platform, "BANKA", 30, uscc=USCCS[0], sections=["registration"])
        second = grant(session, platform, "BANKA", 90, uscc=USCCS[1])
        revoke(session, platform, second.id)
    engine.dispose()
    return home


@pytest.fixture
def home(prepared: Path, tmp_path: Path) -> Path:
    """A copy of the prepared home, for a test to change."""
    copy = tmp_path / "home"
    shutil.copytree(prepared, copy)
    return copy


def database(home: Path) -> Path:
    return Path(Settings(home=home).app_database_url.removeprefix("sqlite:///"))


def test_an_intact_database_verifies(home: Path) -> None:
    done = run(home, "audit", "verify")
    assert done.returncode == 0, done.stderr
    # bank.create, two grants and a revoke in the audit log; three ledger entries.
    assert "audit log intact: 4 entries" in done.stdout
    assert "consent ledger intact: 3 entries" in done.stdout
    assert "consents match the ledger: 2" in done.stdout
    assert "审计日志完整" in done.stdout


def test_an_edited_projection_fails_with_the_consent(home: Path) -> None:
    with sqlite3.connect(database(home)) as connection:
        connection.execute(
            "UPDATE consents SET expires_at = '2099-01-01 00:00:00.000000' WHERE id = 1"
        )
    done = run(home, "audit", "verify")
    assert done.returncode == 1
    assert "consent 1 does not match the ledger: expires_at" in done.stderr
    assert "授权 1 的现状与账本不符" in done.stderr
    assert "audit log intact" in done.stdout  # the other parts are still reported


def test_an_edited_audit_row_and_a_deleted_ledger_entry_fail(home: Path) -> None:
    with sqlite3.connect(database(home)) as connection:
        connection.execute("UPDATE audit_log SET detail = '{}' WHERE seq = 3")
        connection.execute("DELETE FROM consent_ledger WHERE seq = 2")
    done = run(home, "audit", "verify")
    assert done.returncode == 1
    assert "audit log broken" in done.stderr
    assert "entry seq 3 (id 3) was changed" in done.stderr
    assert "consent ledger broken" in done.stderr
    assert "entry seq 2 is missing" in done.stderr


def test_an_unmigrated_database_is_one_clear_line(tmp_path: Path) -> None:
    done = run(tmp_path, "audit", "verify")
    assert done.returncode == 2
    assert "puhui db upgrade" in done.stderr
    assert "Traceback" not in done.stderr
