"""End to end through HTTP on PostgreSQL, each request its own committed transaction:
a business applies to the open pool with consent; two banks send 50 concurrent claims and
exactly one wins; the winner moves it through all six stages; the other bank gets 404 on
the application and on the profile; every stage queued exactly one notice; the audit log
and the consent ledger verify."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine

from puhui.accounts.models import AuditEntry
from puhui.applications.models import Application, ApplicationEvent
from puhui.audit import verify_chains
from puhui.consent.models import Consent
from puhui.db import unit_of_work, upgrade
from puhui.notices.models import Notice
from puhui.settings import Settings
from puhui.web.app import create_app
from tests.accounts.factories import PASSWORD, USCCS, make_bank, make_user
from tests.applications.factories import PHONE
from tests.conftest import PG_URL, _postgres_schema_url
from tests.features.factories import make_profile

pytestmark = pytest.mark.postgres

CLAIMS = 50
STAGES = ["submitted", "accepted", "under_review", "approved", "contract_signed", "disbursed"]


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """A fresh, migrated schema of its own: requests commit for real (no savepoints)."""
    schema = f"puhui_e2e_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable: {error}")
    url = _postgres_schema_url(schema)
    upgrade(url)
    # Room for every claim at once: a connection each, and (below) a worker thread each.
    # With fewer, requests queue for a connection or a thread while the winner waits for a
    # thread to finish its response: see docs/applications.md, "Capacity".
    engine = create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1),
        pool_size=CLAIMS + 10,
        max_overflow=0,
        pool_pre_ping=True,
    )
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


async def _more_worker_threads() -> None:
    """The server's pool of worker threads (anyio's default: 40) sized for the race."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = CLAIMS + 10


def test_pool_claim_race_and_the_six_stages(pg_engine: Engine, tmp_path: Path) -> None:
    with unit_of_work(pg_engine) as session:
        make_bank(session, "BANKA", "甲银行")
        make_bank(session, "BANKB", "乙银行")
        make_user(session, "enterprise", uscc=USCCS[0], username="shop")
        make_user(session, "bank_officer", bank="BANKA", username="a-officer")
        make_user(session, "bank_officer", bank="BANKB", username="b-officer")
        make_profile(session, USCCS[0])
    settings = Settings(home=tmp_path, session_secret="e2e-secret", cookie_secure=False)
    app = create_app(settings, engine=pg_engine)

    with TestClient(app, raise_server_exceptions=False) as client:
        client.portal.call(_more_worker_threads)  # type: ignore[union-attr]

        def bearer(username: str) -> dict[str, str]:
            done = client.post(
                "/api/v1/token",
                data={"grant_type": "password", "username": username, "password": PASSWORD},
            )
            assert done.status_code == 200, done.text
            return {"Authorization": f"Bearer {done.json()['access_token']}"}

        shop, bank = bearer("shop"), {"BANKA": bearer("a-officer"), "BANKB": bearer("b-officer")}

        created = client.post(
            "/api/v1/applications",
            json={
                "amount": "200000.00",
                "term_months": 12,
                "purpose": "扩大经营",
                "contact_phone": PHONE,
                "consent_days": 90,
                "sections": ["registration", "operations", "risk"],
            },
            headers=shop,
        )
        assert created.status_code == 201, created.text
        app_id, number = created.json()["id"], created.json()["number"]
        assert created.json()["pool"] is True

        # 50 claims at once, alternating between the two banks.
        barrier = threading.Barrier(CLAIMS)
        results: list[tuple[str, int]] = []
        lock = threading.Lock()

        def grab(code: str) -> None:
            barrier.wait()
            status = client.post(f"/api/v1/applications/{app_id}/claim", headers=bank[code])
            with lock:
                results.append((code, status.status_code))

        threads = [
            threading.Thread(target=grab, args=("BANKA" if i % 2 == 0 else "BANKB",))
            for i in range(CLAIMS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert len(results) == CLAIMS
        statuses = Counter(status for _, status in results)
        assert statuses == Counter({200: 1, 409: CLAIMS - 1}), statuses
        [winner] = [code for code, status in results if status == 200]
        loser = "BANKB" if winner == "BANKA" else "BANKA"
        won, lost = bank[winner], bank[loser]

        # The winner moves it through the remaining stages; the business signs.
        for to, who, extra in [
            ("under_review", won, {}),
            ("approved", won, {"approved_amount": "180000.00", "approved_rate": "4.35"}),
            ("contract_signed", shop, {}),
            ("disbursed", won, {}),
        ]:
            moved = client.post(
                f"/api/v1/applications/{app_id}/transitions",
                json={"to": to, **extra},
                headers=who,
            )
            assert moved.status_code == 200, moved.text
        final = client.get(f"/api/v1/applications/{app_id}", headers=won)
        assert final.status_code == 200
        assert [e["stage"] for e in final.json()["events"]] == STAGES
        assert final.json()["bank_code"] == winner

        # The other bank finds nothing: not the application, not the profile.
        assert client.get(f"/api/v1/applications/{app_id}", headers=lost).status_code == 404
        assert client.get(f"/api/v1/profiles/{USCCS[0]}", headers=lost).status_code == 404
        assert client.post(
            f"/api/v1/applications/{app_id}/transitions", json={"to": "declined"}, headers=lost
        ).status_code == 404  # fmt: skip
        profile = client.get(f"/api/v1/profiles/{USCCS[0]}", headers=won)
        assert profile.status_code == 200
        assert "operations" in profile.json()["document"]
        assert "relations" not in profile.json()["document"]  # not authorised

        tracked = client.get(f"/api/v1/track/{number}").json()
        assert tracked["status"] == "disbursed"
        assert [s["state"] for s in tracked["stages"]] == ["done"] * 5 + ["current"]

    with unit_of_work(pg_engine) as session:
        application = session.get(Application, app_id)
        assert application is not None
        assert application.bank_code == winner
        notices = list(session.scalars(select(Notice).where(Notice.application_id == app_id)))
        assert sorted(n.params["stage"] for n in notices) == sorted(STAGES)
        assert all(n.address == PHONE and n.channel == "sms" for n in notices)
        events = session.scalars(
            select(ApplicationEvent.stage).where(ApplicationEvent.application_id == app_id)
        ).all()
        assert sorted(events) == sorted(STAGES)
        consents = list(session.scalars(select(Consent).where(Consent.uscc == USCCS[0])))
        assert [(c.bank_code, c.sections) for c in consents] == [
            (winner, "registration,operations,risk")
        ]
        actions = session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.object_type == "application", AuditEntry.object_id == str(app_id)
            )
        ).all()
        assert Counter(actions) == Counter(
            {"application.submit": 1, "application.claim": 1, "application.transition": 4}
        )
        report = verify_chains(session)
        assert report.ok, report.lines()
