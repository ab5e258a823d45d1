"""Link, features and profiles on Spark (``PUHUI_ENGINE=spark``), against DuckDB, on one
small simulated region."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from puhui.db import make_engine, unit_of_work, upgrade
from puhui.features import engines as features_engines
from puhui.features.service import get_profile, publish_profiles
from puhui.ingest.engines import ingest, warehouse_reader
from puhui.link.engines import link
from puhui.link.service import evaluate
from puhui.settings import Engine, Settings
from puhui.simulate.service import SimulationConfig, simulate

pytestmark = pytest.mark.spark

AS_OF = date(2026, 3, 31)
KEY = "a-test-key-for-both-engines-0001"


@pytest.fixture(scope="module")
def regions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Settings, Settings]:
    """One delivery of 800 businesses, ingested and linked on each engine."""
    root = tmp_path_factory.mktemp("engines")
    delivery = root / "delivery"
    simulate(delivery, SimulationConfig(entities=800, seed=11, as_of=date(2026, 6, 30)))
    on_duckdb = Settings(home=root / "duckdb", engine=Engine.DUCKDB, secret_key=KEY)
    on_spark = Settings(home=root / "spark", engine=Engine.SPARK, secret_key=KEY)
    for settings in (on_duckdb, on_spark):
        ingest(settings, delivery)
        link(settings)
    return delivery, on_duckdb, on_spark


def _links(settings: Settings) -> pd.DataFrame:
    with warehouse_reader(settings) as con:
        frame: pd.DataFrame = con.sql(
            "SELECT feed, record_key, uscc, method, status FROM links"
        ).df()
    return frame.sort_values(["feed", "record_key"]).reset_index(drop=True)


def test_spark_links_like_duckdb(regions: tuple[Path, Settings, Settings]) -> None:
    delivery, on_duckdb, on_spark = regions
    duck, spark = _links(on_duckdb), _links(on_spark)
    assert len(spark) == len(duck) > 1000
    assert (spark[["feed", "record_key"]] == duck[["feed", "record_key"]]).all().all()
    # The exact steps are the same; Splink's u is estimated by random sampling, which each
    # engine draws in its own way, so a handful of borderline records may differ.
    exact = duck.method.isin(["uscc", "person"])
    assert (spark.uscc[exact] == duck.uscc[exact]).all()
    same = (spark.uscc.fillna("") == duck.uscc.fillna("")).mean()
    assert same >= 0.99
    with warehouse_reader(on_spark) as con:
        for result in evaluate(con, delivery / "truth"):
            assert result.precision >= 0.98, result


def test_features_and_profiles_from_the_spark_warehouse(
    regions: tuple[Path, Settings, Settings], tmp_path: Path
) -> None:
    _, _, on_spark = regions
    out = tmp_path / "features.parquet"
    count = features_engines.export(on_spark, AS_OF, out)
    features = pd.read_parquet(out)
    assert len(features) == count > 600
    assert features.uscc.is_unique
    kept = on_spark.spark_warehouse_dir / "features" / f"{AS_OF.isoformat()}.parquet"
    assert features_engines.compute(on_spark, AS_OF) == count
    assert kept.exists()
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(url)
    engine = make_engine(url)
    with warehouse_reader(on_spark) as con, unit_of_work(engine) as session:
        published = publish_profiles(con, session, AS_OF)
        profile = get_profile(session, str(features.uscc.iloc[0]))
    engine.dispose()
    assert published == count
    assert profile is not None
    assert profile.document["registration"]["uscc"] == features.uscc.iloc[0]
