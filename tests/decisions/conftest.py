"""A scored region for the decision engine: the shared linked region's features, the two
models fitted on its loans, every business's feature vector as its profile publishes it,
and the batch scores ``puhui score`` stores — made once per test run."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from puhui.db import make_engine, unit_of_work, upgrade
from puhui.decisions.engine import ModelSpec
from puhui.features.profile import profiles_sql
from puhui.ingest.warehouse import connect
from puhui.scoring import service
from puhui.scoring.challenger import Challenger, fit_challenger
from puhui.scoring.policy import load_policy
from puhui.scoring.scorecard import Scorecard, fit_scorecard
from puhui.scoring.training import CATEGORICAL_FEATURES, TrainingSet, model_features
from tests.accounts.conftest import fast_hashing  # noqa: F401  (autouse here too)
from tests.conftest import WAREHOUSE_KEY
from tests.decisions.factories import register
from tests.scoring.conftest import AS_OF, featured_warehouse, training_set  # noqa: F401
from tests.web.conftest import app, bank_client, client, people  # noqa: F401  (fixtures)


@dataclass(frozen=True)
class Region:
    """The scored test region: models (ids 1 and 2, as registered for the batch), every
    business's published feature vector, and the batch scores of both models."""

    as_of: date
    scorecard: ModelSpec
    challenger: ModelSpec
    documents: dict[str, str]  # uscc -> profile document (JSON text), as published
    features: dict[str, dict[str, Any]]  # uscc -> document["features"]
    scores: pd.DataFrame  # the batch scores table (both roles)
    warehouse: Path

    def champion_rows(self) -> pd.DataFrame:
        return self.scores[self.scores["role"] == "champion"].set_index("uscc")

    def challenger_rows(self) -> pd.DataFrame:
        return self.scores[self.scores["role"] == "challenger"].set_index("uscc")


@pytest.fixture(scope="session")
def fitted(training_set: TrainingSet) -> tuple[Scorecard, Challenger]:  # noqa: F811
    features = model_features()
    categorical = [c for c in CATEGORICAL_FEATURES if c in features]
    train, test = training_set.train, training_set.test
    y = train["bad"].to_numpy(dtype=np.int8)
    card = fit_scorecard(train[features], y, categorical=categorical, check_frame=test[features])
    challenger = fit_challenger(
        train,
        y,
        features=features,
        categorical=categorical,
        order=train["start"].to_numpy(),
    )
    return card, challenger


@pytest.fixture(scope="session")
def region(
    featured_warehouse: Path,  # noqa: F811
    fitted: tuple[Scorecard, Challenger],
    tmp_path_factory: pytest.TempPathFactory,
) -> Region:
    card, challenger = fitted
    scorecard = ModelSpec(1, "scorecard", card.to_json(), card.fingerprint)
    shadow = ModelSpec(2, "lightgbm", challenger.to_json(), challenger.fingerprint)
    root = tmp_path_factory.mktemp("decisions")
    path = root / "w.duckdb"
    shutil.copy(featured_warehouse, path)
    url = f"sqlite:///{root / 'app.db'}"
    upgrade(url)
    engine = make_engine(url)
    con = connect(path, WAREHOUSE_KEY)
    try:
        with unit_of_work(engine) as session:
            assert register(session, scorecard, "champion").id == 1
            assert register(session, shadow, "challenger").id == 2
            table, _ = service.score_tables(
                service.duckdb_query(con), session, AS_OF, load_policy()
            )
        rows = con.sql(f"SELECT uscc, document FROM ({profiles_sql(AS_OF)}) p").fetchall()
    finally:
        con.close()
        engine.dispose()
    documents = {str(uscc): str(document) for uscc, document in rows}
    return Region(
        as_of=AS_OF,
        scorecard=scorecard,
        challenger=shadow,
        documents=documents,
        features={u: json.loads(d)["features"] for u, d in documents.items()},
        scores=table.to_pandas(),
        warehouse=path,
    )
