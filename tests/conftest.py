"""Shared fixtures: the app database on SQLite and on PostgreSQL, each test rolled back; the
linked region; and how the suite splits over pytest-xdist workers (``make test`` runs two)."""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
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


def built_once_per_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """A folder that ``build`` fills once per test run, copied for this worker alone.

    Under pytest-xdist each worker is a process with its own session fixtures, so an
    expensive one would be built once per worker. The first worker to ask builds it in the
    run's temporary folder, which all workers share, under a lock the others wait on; each
    worker then works on a private copy, as before, because DuckDB lets only one process at
    a time open a database file.
    """
    own = tmp_path_factory.mktemp(name)
    if "PYTEST_XDIST_WORKER" not in os.environ:
        build(own)
        return own
    run_root = tmp_path_factory.getbasetemp().parent  # this run's, not another run's
    shared = run_root / f"built-{name}"
    with (run_root / f"built-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (run_root / f"built-{name}.done").exists():
            shutil.rmtree(shared, ignore_errors=True)  # a worker that failed part way
            shared.mkdir()
            build(shared)
            (run_root / f"built-{name}.done").touch()
    shutil.copytree(shared, own, dirs_exist_ok=True)
    return own


def _build_linked_region(root: Path) -> None:
    from puhui.ingest.service import ingest_delivery
    from puhui.ingest.warehouse import connect
    from puhui.link.service import run_link
    from puhui.simulate.service import SimulationConfig, simulate

    delivery = root / "delivery"
    simulate(delivery, SimulationConfig(entities=6000, seed=3, as_of=date(2026, 6, 30)))
    con = connect(root / "w.duckdb", WAREHOUSE_KEY)
    ingest_delivery(con, delivery)
    run_link(con)
    con.close()


@pytest.fixture(scope="session")
def linked_region(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A simulated delivery of 6,000 businesses, ingested and linked once per test run.

    Returns (delivery folder, warehouse file). Tests that change the warehouse work on a
    copy of the file.
    """
    root = built_once_per_run(tmp_path_factory, "linked-region", _build_linked_region)
    return root / "delivery", root / "w.duckdb"


# --------------------------------------------------------------------------- two workers
#
# ``make test`` runs ``pytest -n 2 --dist loadscope``; this file decides what a scope is. Each
# test module is one scope, so its module-scoped fixtures (a simulated region, a served app)
# are built on one worker only; every Spark test is in the one scope "spark", so one JVM runs
# at a time (each takes a 4 GiB heap and both cores' worth of threads). The controller that
# schedules sees only node ids, not marks (and pytest 9.2's structured node ids make
# ``--dist loadgroup`` ignore ``xdist_group``, pytest-xdist#1386), so a Spark test is known
# by its name: a module named test_spark*.py, or a test whose name says "spark". Collection
# on a worker refuses a ``spark``-marked test named otherwise.

SPARK_SCOPE = "spark"


def _scope(nodeid: str) -> str:
    module, _, test = nodeid.partition("::")
    if Path(module).name.startswith("test_spark") or "spark" in test.split("[")[0]:
        return SPARK_SCOPE
    return module


def _heaviness(item: pytest.Item) -> int:
    """0 for Spark, 1 for a test marked slow, else 2: heavy scopes go to the workers first,
    so that the run does not end waiting on one long scope started last."""
    if _scope(item.nodeid) == SPARK_SCOPE:
        return 0
    return 1 if item.get_closest_marker("slow") is not None else 2


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, which may be disabled (-p no:xdist)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """Under ``--dist loadscope``, schedule by :func:`_scope`, in collection order (which
    :func:`pytest_collection_modifyitems` makes heaviest first)."""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class ModuleAndSparkScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid)

    config.option.loadscopereorder = False
    return ModuleAndSparkScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a worker of ``--dist loadscope``: check that Spark tests are named so, and put the
    heaviest scopes first (each scope's tests stay in their order)."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None or config.getoption("dist") != "loadscope":
        return
    misnamed = [
        item.nodeid
        for item in items
        if item.get_closest_marker("spark") is not None and _scope(item.nodeid) != SPARK_SCOPE
    ]
    if misnamed:
        raise pytest.UsageError(
            "Spark tests must run in the one Spark scope: name the module test_spark*.py or "
            f"the test test_spark_* (tests/conftest.py): {', '.join(misnamed)}"
        )
    scopes = {item.nodeid: _scope(item.nodeid) for item in items}
    heaviness: dict[str, int] = {}
    first_seen: dict[str, int] = {}
    for position, item in enumerate(items):
        scope = scopes[item.nodeid]
        heaviness[scope] = min(heaviness.get(scope, 2), _heaviness(item))
        first_seen.setdefault(scope, position)
    items.sort(key=lambda item: (heaviness[scopes[item.nodeid]], first_seen[scopes[item.nodeid]]))
