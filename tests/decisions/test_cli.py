"""``puhui decision replay`` as an operator runs it: same (exit 0), tampered (exit 1)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from sqlalchemy import text

from puhui.accounts.service import actor_for_user
from puhui.db import make_engine, unit_of_work, upgrade
from puhui.decisions import service
from puhui.decisions.runtime import DecisionRuntime
from tests.accounts.factories import USCCS, make_bank, make_user
from tests.consent.factories import make_consent
from tests.decisions.factories import DIAL, clean_features, dial_spec, make_profile, register
from tests.puhui_command import run_puhui


def run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return run_puhui(*args, home=home)


def test_replay_same_then_tampered(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'app.db').resolve()}"
    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        make_bank(session, "BANKA", "甲银行")
        officer = actor_for_user(make_user(session, "bank_officer", bank="BANKA"))
        register(session, dial_spec(), "champion")
        make_profile(session, USCCS[0], clean_features())
        make_consent(session, USCCS[0], "BANKA")
        row = service.decide(session, officer, DecisionRuntime(None), USCCS[0], "300000")
        public_id, number = row.public_id, row.id

    same = run("decision", "replay", public_id, home=tmp_path)
    assert same.returncode == 0, same.stderr
    assert "same" in same.stdout
    assert public_id in same.stdout
    shown = run("decision", "replay", str(number), "--all", home=tmp_path)
    assert shown.returncode == 0
    assert "rating.score" in shown.stdout

    # Someone with the database's keys drops the guard and edits the feature vector.
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER decisions_no_update"))
        stored = json.loads(connection.execute(text("SELECT features FROM decisions")).scalar_one())
        stored[DIAL] = -1.0
        connection.execute(text("UPDATE decisions SET features = :f"), {"f": json.dumps(stored)})
    engine.dispose()
    tampered = run("decision", "replay", public_id, home=tmp_path)
    assert tampered.returncode == 1
    assert "different" in tampered.stdout + tampered.stderr
    assert "rating.score" in tampered.stdout
    assert "Traceback" not in tampered.stderr

    unknown = run("decision", "replay", "DC20260101AAAAAAAAAA", home=tmp_path)
    assert unknown.returncode == 2
    assert "no decision" in unknown.stderr
