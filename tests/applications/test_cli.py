"""``puhui applications list`` and ``puhui applications expire`` as an operator runs them."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

from puhui.accounts.service import actor_for_user
from puhui.applications.models import Application
from puhui.db import make_engine, unit_of_work
from puhui.settings import get_settings
from tests.accounts.factories import USCCS, make_bank, make_user
from tests.applications.factories import apply
from tests.conftest import WAREHOUSE_KEY
from tests.puhui_command import run_puhui


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PUHUI_SECRET_KEY": WAREHOUSE_KEY.decode(), "COLUMNS": "200"}
    return run_puhui(*args, home=home, env=env)


def test_list_and_expire_the_overdue(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run(home, "db", "upgrade").returncode == 0
    engine = make_engine(get_settings(home).app_database_url)
    with unit_of_work(engine) as session:
        make_bank(session, "BANKA", "甲银行")
        business = actor_for_user(make_user(session, "enterprise", uscc=USCCS[0]))
        overdue = apply(session, business, None)
        overdue.stage_due_at = overdue.submitted_at - timedelta(minutes=1)
        fresh = apply(session, business, None)
        numbers = (overdue.number, fresh.number)
    listed = run(home, "applications", "list", "--pool")
    assert listed.returncode == 0, listed.stderr
    assert numbers[0] in listed.stdout
    assert numbers[1] in listed.stdout
    assert "138****5678" in listed.stdout
    assert "13812345678" not in listed.stdout

    expired = run(home, "applications", "expire")
    assert expired.returncode == 0, expired.stderr
    assert "expired: 1 application(s)" in expired.stdout
    assert numbers[0] in expired.stdout
    assert numbers[1] not in expired.stdout
    with unit_of_work(engine) as session:
        statuses = {a.number: a.status for a in session.query(Application)}
    assert statuses == {numbers[0]: "expired", numbers[1]: "submitted"}
    again = run(home, "applications", "expire")
    assert "expired: 0 application(s)" in again.stdout

    bad = run(home, "applications", "list", "--status", "paid")
    assert bad.returncode == 2
    assert "status" in bad.stderr
    assert "Traceback" not in bad.stderr
    engine.dispose()
