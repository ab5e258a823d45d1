"""A scored region: the shared linked region with its features, and its training samples."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from puhui.features.service import compute_features
from puhui.ingest.warehouse import connect
from puhui.scoring.training import TrainingSet, build_training_set
from tests.conftest import WAREHOUSE_KEY, built_once_per_run

AS_OF = date(2026, 6, 30)


@pytest.fixture(scope="session")
def featured_warehouse(
    linked_region: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A copy of the linked region's warehouse with its features as of :data:`AS_OF`."""

    def build(root: Path) -> None:
        shutil.copy(linked_region[1], root / "w.duckdb")
        con = connect(root / "w.duckdb", WAREHOUSE_KEY)
        compute_features(con, AS_OF)
        con.close()

    return built_once_per_run(tmp_path_factory, "scoring", build) / "w.duckdb"


@pytest.fixture
def warehouse(featured_warehouse: Path, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A private copy of the featured warehouse, open."""
    path = tmp_path / "w.duckdb"
    shutil.copy(featured_warehouse, path)
    con = connect(path, WAREHOUSE_KEY)
    yield con
    con.close()


@pytest.fixture(scope="session")
def training_set(featured_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainingSet:
    path = tmp_path_factory.mktemp("training") / "w.duckdb"
    shutil.copy(featured_warehouse, path)
    con = connect(path, WAREHOUSE_KEY)
    try:
        return build_training_set(con, AS_OF)
    finally:
        con.close()
