"""Fixtures shared by the ingest tests."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from puhui.ingest.checks import register_reference


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with the checks' reference tables."""
    connection = duckdb.connect()
    register_reference(connection)
    yield connection
    connection.close()
