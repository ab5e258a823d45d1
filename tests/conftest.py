"""Shared fixtures: the app database on SQLite and on PostgreSQL, each test rolled back."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from puhui.db import make_engine, upgrade

PG_URL = os.environ.get("PUHUI_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_schema_url(schema: str) -> str:
    # Each test run migrates into its own schema, so runs never see each other's tables.
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated app database: a SQLite file, or a fresh schema on the local PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'app.db'}"
        upgrade(url)
        yield url
        return
    schema = f"puhui_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable: {error}")
    url = _postgres_schema_url(schema)
    upgrade(url)
    yield url
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def db_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    connection = db_engine.connect()
    transaction = connection.begin()
    db_session = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield db_session
    finally:
        db_session.close()
        transaction.rollback()
        connection.close()


#: The region key every warehouse test hashes person ids with.
WAREHOUSE_KEY = b"test-key-for-person-hashes-00000"


@pytest.fixture(scope="session")
def linked_region(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A simulated delivery of 6,000 businesses, ingested and linked once per test run.

    Returns (delivery folder, warehouse file). Tests that change the warehouse work on a
    copy of the file.
    """
    from puhui.ingest.service import ingest_delivery
    from puhui.ingest.warehouse import connect
    from puhui.link.service import run_link
    from puhui.simulate.service import SimulationConfig, simulate

    root = tmp_path_factory.mktemp("region")
    delivery = root / "delivery"
    simulate(delivery, SimulationConfig(entities=6000, seed=3, as_of=date(2026, 6, 30)))
    con = connect(root / "w.duckdb", WAREHOUSE_KEY)
    ingest_delivery(con, delivery)
    run_link(con)
    con.close()
    return delivery, root / "w.duckdb"
