"""Cheap password hashing for the users these tests make, the web app's fixtures, and empty
databases of a test's own (for migrations and concurrent writers)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.accounts.conftest import fast_hashing  # noqa: F401  (autouse here too)
from tests.conftest import PG_URL, _postgres_schema_url
from tests.web.conftest import app, bank_client, client, people  # noqa: F401  (fixtures)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database for this test alone (a SQLite file, or a PostgreSQL schema dropped
    afterwards), written with real commits rather than the rolled-back test session."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.db'}"
        return
    schema = f"puhui_chain_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
