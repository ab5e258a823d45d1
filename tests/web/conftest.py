"""The web app on the test's database session (SQLite and PostgreSQL), each test rolled back."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from puhui.settings import Settings
from puhui.web.app import create_app
from puhui.web.deps import db_session
from tests.accounts.conftest import fast_hashing  # noqa: F401  (autouse here too)
from tests.accounts.factories import USCCS, make_bank, make_client, make_user


def make_app(session: Session, engine: Engine, home: Path, **overrides: object) -> FastAPI:
    settings = Settings(home=home, session_secret="test-session-secret", cookie_secure=False)
    settings = settings.model_copy(update=overrides)
    app = create_app(settings, engine=engine)

    def test_session() -> Iterator[Session]:
        # A savepoint per request stands for the request's own transaction: released when
        # the handler returns, rolled back when it raises; the test's transaction is rolled
        # back at its end (a plain commit here would end SQLite's outer transaction).
        nested = session.begin_nested()
        try:
            yield session
            nested.commit()
        except BaseException:
            nested.rollback()
            raise

    app.dependency_overrides[db_session] = test_session
    return app


@pytest.fixture
def app(session: Session, db_engine: Engine, tmp_path: Path) -> FastAPI:
    return make_app(session, db_engine, tmp_path)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def people(session: Session) -> dict[str, str]:
    """Two banks and one user of each role; returns role → username."""
    make_bank(session, "BANKA", "甲银行")
    make_bank(session, "BANKB", "乙银行")
    users = {
        "operator": make_user(session, "operator", username="ops"),
        "bank_admin": make_user(session, "bank_admin", bank="BANKA", username="a-admin"),
        "bank_officer": make_user(session, "bank_officer", bank="BANKA", username="a-officer"),
        "other_bank": make_user(session, "bank_officer", bank="BANKB", username="b-officer"),
        "enterprise": make_user(session, "enterprise", uscc=USCCS[0], username="shop"),
        "government": make_user(session, "government", username="gov"),
    }
    return {role: user.username for role, user in users.items()}


@pytest.fixture
def bank_client(session: Session, people: dict[str, str]) -> tuple[str, str]:
    created = make_client(session, "BANKA")
    return created.client.client_id, created.secret


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def login(client: TestClient, username: str, password: str | None = None) -> None:
    from tests.accounts.factories import PASSWORD

    page = client.get("/login")
    done = client.post(
        "/login",
        data={
            "username": username,
            "password": password or PASSWORD,
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text


def token(client: TestClient, username: str) -> str:
    from tests.accounts.factories import PASSWORD

    done = client.post(
        "/api/v1/token", data={"grant_type": "password", "username": username, "password": PASSWORD}
    )
    assert done.status_code == 200, done.text
    value: str = done.json()["access_token"]
    return value
