"""Fixtures of the notices tests: the web app's (rolled back per test), and an outbox of
its own — a migrated SQLite file or PostgreSQL schema whose rows really commit, because the
worker commits each outcome in its own transaction (the savepoint fixture cannot show it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from puhui.db import make_engine, upgrade
from puhui.notices.models import Notice
from tests.accounts.conftest import fast_hashing  # noqa: F401  (autouse here too)
from tests.conftest import PG_URL, _postgres_schema_url
from tests.web.conftest import app, bank_client, client, people  # noqa: F401  (fixtures)


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def outbox_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """An engine on a migrated database of the notices tests alone."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('outbox') / 'app.db'}"
        upgrade(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()
        return
    schema = f"puhui_outbox_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable: {error}")
    url = _postgres_schema_url(schema)
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def outbox(outbox_engine: Engine) -> sessionmaker[Session]:
    """A session factory on the outbox database, emptied of notices before each test.

    Its sessions expire on commit (SQLAlchemy's default), unlike the app's: the worker must
    not depend on reading a notice after its outcome committed."""
    factory = sessionmaker(bind=outbox_engine)
    with factory.begin() as session:
        session.execute(delete(Notice))
    return factory
