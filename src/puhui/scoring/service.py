"""``puhui model`` and ``puhui score``: train, register, compare, score, monitor, evaluate.

The warehouse holds the data (loans, features, scores); the app database holds the model
registry (:class:`~puhui.scoring.models.ModelVersion`). One ``train`` fits two models on
the same samples — the scorecard and a LightGBM challenger — and registers both; the
owner's first scorecard becomes its champion, later models wait as challengers until
``promote``.

Batch scoring runs the champion scorecard *inside the warehouse*: its points table is
compiled to one SQL expression per variable (:meth:`Scorecard.points_sql`), so the whole
region's scores come back from one query; PD, reasons, tier, credit points, limit and
price are then vectorised numpy over those columns (:mod:`puhui.scoring.policy`).
Challengers are scored beside it and stored with their own model id.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from puhui.errors import PuhuiError
from puhui.features.registry import features as registered_features
from puhui.features.service import has_features
from puhui.ingest.checks import literal
from puhui.ingest.warehouse import scalar
from puhui.scoring.challenger import Challenger, fit_challenger
from puhui.scoring.metrics import SampleMetrics, psi, psi_categorical, sample_metrics
from puhui.scoring.models import PLATFORM, ModelVersion
from puhui.scoring.policy import Policy, evaluate_policy
from puhui.scoring.report import (
    BinRow,
    ModelSection,
    ScoredSample,
    ValidationReport,
    VariableReport,
)
from puhui.scoring.scorecard import Scorecard, fit_scorecard
from puhui.scoring.training import (
    CATEGORICAL_FEATURES,
    TrainingSet,
    build_training_set,
    model_features,
)

SCORECARD = "scorecard"
LIGHTGBM = "lightgbm"
CHAMPION = "champion"
CHALLENGER = "challenger"
RETIRED = "retired"

#: Warehouse table of batch scores: one row per business, as-of date and model.
SCORES_TABLE = "scores"

SCORES_COLUMNS: list[tuple[str, str]] = [
    ("as_of", "DATE"),
    ("owner", "VARCHAR"),
    ("model_id", "INTEGER"),
    ("role", "VARCHAR"),
    ("uscc", "VARCHAR"),
    ("score", "DOUBLE"),
    ("pd", "DOUBLE"),
    ("tier", "VARCHAR"),
    ("credit_points", "INTEGER"),
    ("pre_credit_limit", "DECIMAL(18,2)"),
    ("rate", "DECIMAL(6,2)"),
    ("admitted", "BOOLEAN"),
    ("knockouts", "VARCHAR"),
    ("reason_1", "VARCHAR"),
    ("reason_2", "VARCHAR"),
    ("reason_3", "VARCHAR"),
    ("policy_version", "VARCHAR"),
    ("scored_at", "TIMESTAMP"),
]


# --------------------------------------------------------------------------- registry


def _require_registry(session: Session) -> None:
    if not inspect(session.connection()).has_table(ModelVersion.__tablename__):
        raise PuhuiError(
            "应用数据库尚未升级，请先运行 puhui db upgrade",
            "the app database is not migrated yet: run puhui db upgrade first",
        )


def get_model(session: Session, model_id: int) -> ModelVersion:
    _require_registry(session)
    model = session.get(ModelVersion, model_id)
    if model is None:
        raise PuhuiError(f"没有编号为 {model_id} 的模型", f"there is no model {model_id}")
    return model


def list_models(session: Session, owner: str | None = None) -> list[ModelVersion]:
    _require_registry(session)
    query = select(ModelVersion).order_by(ModelVersion.id)
    if owner is not None:
        query = query.where(ModelVersion.owner == owner)
    return list(session.scalars(query))


def champion_of(session: Session, owner: str = PLATFORM) -> ModelVersion:
    _require_registry(session)
    model = session.scalars(
        select(ModelVersion).where(ModelVersion.owner == owner, ModelVersion.status == CHAMPION)
    ).first()
    if model is None:
        raise PuhuiError(
            f"{_owner_zh(owner)}还没有冠军模型，请先运行 puhui model train",
            f"{_owner_en(owner)} has no champion model yet: run puhui model train first",
        )
    return model


def challengers_of(session: Session, owner: str = PLATFORM) -> list[ModelVersion]:
    return list(
        session.scalars(
            select(ModelVersion)
            .where(ModelVersion.owner == owner, ModelVersion.status == CHALLENGER)
            .order_by(ModelVersion.id)
        )
    )


def _owner_zh(owner: str) -> str:
    return "平台" if owner == PLATFORM else f"机构 {owner} "


def _owner_en(owner: str) -> str:
    return "the platform" if owner == PLATFORM else f"bank {owner}"


def promote(session: Session, model_id: int) -> ModelVersion:
    """Make a challenger its owner's champion; the old champion is retired."""
    model = get_model(session, model_id)
    if model.status != CHALLENGER:
        raise PuhuiError(
            f"模型 {model_id} 的状态是 {model.status}，只有挑战者可以晋升",
            f"model {model_id} is {model.status}: only a challenger can be promoted",
        )
    for old in session.scalars(
        select(ModelVersion).where(
            ModelVersion.owner == model.owner, ModelVersion.status == CHAMPION
        )
    ):
        old.status = RETIRED
    session.flush()
    model.status = CHAMPION
    session.flush()
    return model


# --------------------------------------------------------------------------- models


AnyModel = Scorecard | Challenger


def load_artefact(model: ModelVersion) -> AnyModel:
    if model.kind == SCORECARD:
        return Scorecard.from_json(model.artefact)
    return Challenger.from_json(model.artefact)


def predict(artefact: AnyModel, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(score, pd) of each row; a challenger's score is its PD on the scorecard's scale."""
    if isinstance(artefact, Scorecard):
        score = artefact.score(frame)
        return score, artefact.pd(score)
    pd_ = artefact.pd(frame)
    return score_from_pd(pd_), pd_


def score_from_pd(
    pd_: np.ndarray, base_points: float = 600.0, odds: float = 50.0, pdo: float = 40.0
) -> np.ndarray:
    """Points on the scorecard's default PDO scale for a probability of bad."""
    clipped = np.clip(pd_, 1e-9, 1 - 1e-9)
    return np.asarray(
        base_points + pdo / np.log(2) * (np.log((1 - clipped) / clipped) - np.log(odds))
    )


def reasons_of(artefact: AnyModel, frame: pd.DataFrame, k: int = 3) -> np.ndarray:
    if isinstance(artefact, Scorecard):
        return artefact.reasons(artefact.points(frame), k)
    return artefact.reasons(frame, k)


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainResult:
    training: TrainingSet
    models: list[ModelVersion]


def training_file(models_dir: Path, fingerprint: str) -> Path:
    """Where the samples of a training run are kept (the report and monitor read them)."""
    return models_dir / f"training-{fingerprint[:16]}.parquet"


def train_models(
    con: duckdb.DuckDBPyConnection,
    session: Session,
    as_of: date,
    *,
    models_dir: Path,
    bank: str | None = None,
) -> TrainResult:
    """Fit the scorecard and the LightGBM challenger on loans started before ``as_of``."""
    _require_registry(session)
    training = build_training_set(con, as_of, bank)
    return TrainResult(training, fit_and_register(session, training, models_dir))


def fit_and_register(
    session: Session, training: TrainingSet, models_dir: Path
) -> list[ModelVersion]:
    """Fit both models on ``training`` and register them for its owner (bank or platform).

    The samples are kept beside the registry (:func:`training_file`) for the report and
    the monitor; the owner's first scorecard becomes its champion, every other model a
    challenger.
    """
    _require_registry(session)
    models_dir.mkdir(parents=True, exist_ok=True)
    training.frame.to_parquet(training_file(models_dir, training.fingerprint), index=False)
    features = model_features()
    categorical = [c for c in CATEGORICAL_FEATURES if c in features]
    train, test = training.train, training.test
    y_train = train["bad"].to_numpy(dtype=np.int8)

    scorecard = fit_scorecard(
        train[features],
        y_train,
        categorical=categorical,
        check_frame=test[features],
        target="bad_90dpd_12m",
        bad_value="1",
    )
    challenger = fit_challenger(
        train,
        y_train,
        features=features,
        categorical=categorical,
        order=train["start"].to_numpy(),
    )
    owner = training.bank or PLATFORM
    has_champion = session.scalars(
        select(ModelVersion.id).where(ModelVersion.owner == owner, ModelVersion.status == CHAMPION)
    ).first()
    now = datetime.now(UTC).replace(tzinfo=None)
    models = []
    artefacts: tuple[tuple[str, AnyModel], ...] = ((SCORECARD, scorecard), (LIGHTGBM, challenger))
    for kind, artefact in artefacts:
        status = CHAMPION if kind == SCORECARD and has_champion is None else CHALLENGER
        model = ModelVersion(
            owner=owner,
            kind=kind,
            status=status,
            as_of=training.as_of,
            created_at=now,
            metrics=json.dumps(_metrics(artefact, training)),
            training_fingerprint=training.fingerprint,
            training_rows=len(training.frame),
            fingerprint=artefact.fingerprint,
            artefact=artefact.to_json(),
        )
        session.add(model)
        models.append(model)
    session.flush()
    return models


def _metrics(artefact: AnyModel, training: TrainingSet) -> dict[str, Any]:
    samples = {}
    for name, part in (("train", training.train), ("out_of_time", training.test)):
        _, pd_ = predict(artefact, part)
        samples[name] = asdict(sample_metrics(name, part["bad"].to_numpy(), pd_))
    return {"samples": samples}


def model_metrics(model: ModelVersion) -> dict[str, SampleMetrics]:
    data = json.loads(model.metrics)["samples"]
    return {name: SampleMetrics(**values) for name, values in data.items()}


def load_training(models_dir: Path, model: ModelVersion) -> TrainingSet:
    """The samples a model was fitted on, from the file its training run wrote."""
    from puhui.scoring.training import out_of_time_mask

    path = training_file(models_dir, model.training_fingerprint)
    if not path.exists():
        raise PuhuiError(
            f"找不到模型 {model.id} 的训练样本文件 {path}",
            f"the training samples of model {model.id} are not here: {path}",
        )
    frame = pd.read_parquet(path)
    return TrainingSet(
        as_of=model.as_of,
        bank=None if model.owner == PLATFORM else model.owner,
        frame=frame,
        out_of_time=out_of_time_mask(frame["start"].to_numpy()),
        fingerprint=model.training_fingerprint,
    )


# --------------------------------------------------------------------------- batch scoring


#: Runs one DuckDB-dialect SELECT on the warehouse's engine and returns its rows.
Query = Callable[[str], pa.Table]


def duckdb_query(con: duckdb.DuckDBPyConnection) -> Query:
    return lambda sql: con.sql(sql).to_arrow_table()


def column(table: pa.Table, name: str) -> np.ndarray:
    """One column as numpy: numbers as float64 with NaN for NULL, text as objects."""
    values = table.column(name)
    kind = values.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        if pa.types.is_decimal(kind):
            values = values.cast(pa.float64())
        # NULLs of an integer column come back as NaN in a float array.
        return np.asarray(values.to_numpy(), dtype=np.float64)
    return np.asarray(values.to_numpy())


def _day(as_of: date) -> str:
    return f"DATE '{as_of.isoformat()}'"


def _feature_frame(query: Query, as_of: date, columns: Sequence[str]) -> pd.DataFrame:
    listed = ", ".join(["uscc", *columns])
    sql = f"SELECT {listed} FROM features WHERE as_of = {_day(as_of)} ORDER BY uscc"
    frame: pd.DataFrame = query(sql).to_pandas()
    return frame


def _require_features(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    if not has_features(con, as_of):
        raise PuhuiError(
            f"还没有 {as_of} 的特征，请先运行 puhui features --as-of {as_of}",
            f"there are no features as of {as_of}: run puhui features --as-of {as_of} first",
        )


@dataclass(frozen=True)
class ScoreRun:
    as_of: date
    owner: str
    champion_id: int
    challenger_ids: list[int]
    scored: int
    admitted: int
    policy_version: str


def scorecard_frame(
    query: Query, scorecard: Scorecard, as_of: date, extra: Sequence[str]
) -> pa.Table:
    """Score and points of every business, computed by the warehouse in one query (in no
    particular order), with the ``extra`` feature columns."""
    # The features table holds no NaN (features_sql makes it NULL): no NaN test per value.
    points = scorecard.points_sql(nan_free=True)
    columns = [f"({scorecard.score_sql(nan_free=True)}) AS score"]
    columns += [f"({sql}) AS {points_column(name)}" for name, sql in points.items()]
    columns += list(extra)
    return query(f"SELECT uscc, {', '.join(columns)} FROM features WHERE as_of = {_day(as_of)}")


def points_column(variable: str) -> str:
    return f"points__{variable}"


def score_tables(
    query: Query, session: Session, as_of: date, policy: Policy, owner: str = PLATFORM
) -> tuple[pa.Table, ScoreRun]:
    """Score every business as of ``as_of`` with the owner's champion and challengers.

    ``query`` runs on the warehouse that holds ``features`` (DuckDB or Spark); the result
    is one Arrow table of :data:`SCORES_COLUMNS` rows (money and rates as integers:
    ``pre_credit_limit`` yuan and ``rate_bp``), for the caller to store.
    """
    champion = champion_of(session, owner)
    challengers = challengers_of(session, owner)
    policy_inputs = sorted(policy.features_used)
    now = datetime.now(UTC).replace(tzinfo=None)
    tables: list[pa.Table] = []

    artefact = load_artefact(champion)
    if isinstance(artefact, Scorecard):
        table = scorecard_frame(query, artefact, as_of, policy_inputs)
        uscc = table.column("uscc").combine_chunks()
        score = column(table, "score")
        pd_ = artefact.pd(score)
        points = np.column_stack([column(table, points_column(v.name)) for v in artefact.variables])
        reasons = artefact.reasons(points)
        inputs = {name: column(table, name) for name in policy_inputs}
    else:
        frame = _feature_frame(query, as_of, sorted({*artefact.features, *policy_inputs}))
        uscc = pa.array(frame["uscc"].to_numpy().astype(str))
        score, pd_ = predict(artefact, frame)
        reasons = artefact.reasons(frame)
        inputs = {name: frame[name].to_numpy() for name in policy_inputs}
    champion_table = _scores_table(
        uscc, score, pd_, reasons, inputs, policy, as_of, owner, champion.id, CHAMPION, now
    )
    tables.append(champion_table)
    admitted = int(np.count_nonzero(champion_table["admitted"].to_numpy()))

    if challengers:
        features = sorted({f for m in challengers for f in _inputs(load_artefact(m))})
        plain = _feature_frame(query, as_of, sorted({*features, *policy_inputs}))
        plain_uscc = pa.array(plain["uscc"].to_numpy().astype(str))
        plain_inputs = {name: plain[name].to_numpy() for name in policy_inputs}
        for model in challengers:
            shadow = load_artefact(model)
            score_c, pd_c = predict(shadow, plain)
            reasons_c = reasons_of(shadow, plain)
            tables.append(
                _scores_table(
                    plain_uscc,
                    score_c,
                    pd_c,
                    reasons_c,
                    plain_inputs,
                    policy,
                    as_of,
                    owner,
                    model.id,
                    CHALLENGER,
                    now,
                )
            )
    run = ScoreRun(
        as_of,
        owner,
        champion.id,
        [m.id for m in challengers],
        len(uscc),
        admitted,
        policy.version,
    )
    return pa.concat_tables(tables), run


def score_region(
    con: duckdb.DuckDBPyConnection,
    session: Session,
    as_of: date,
    policy: Policy,
    owner: str = PLATFORM,
) -> ScoreRun:
    """:func:`score_tables` on the DuckDB warehouse, stored in its ``scores`` table."""
    _require_features(con, as_of)
    table, run = score_tables(duckdb_query(con), session, as_of, policy, owner)
    _store_scores(con, table, as_of, owner)
    return run


def _inputs(artefact: AnyModel) -> list[str]:
    if isinstance(artefact, Scorecard):
        return [v.name for v in artefact.variables]
    return list(artefact.features)


def _scores_table(
    uscc: pa.Array,
    score: np.ndarray,
    pd_: np.ndarray,
    reasons: np.ndarray,
    inputs: Mapping[str, np.ndarray],
    policy: Policy,
    as_of: date,
    owner: str,
    model_id: int,
    role: str,
    now: datetime,
) -> pa.Table:
    outcome = evaluate_policy(policy, pd_, inputs)
    n = len(uscc)
    knockouts = np.zeros(n, dtype="U1")
    for j, code in enumerate(outcome.knockout_codes):
        knockouts = np.where(outcome.knockouts[:, j], np.char.add(knockouts, code + ","), knockouts)
    return pa.table(
        {
            "as_of": pa.array([as_of] * n, pa.date32()),
            "owner": pa.array([owner] * n),
            "model_id": pa.array(np.full(n, model_id, dtype=np.int32)),
            "role": pa.array([role] * n),
            "uscc": uscc,
            "score": pa.array(np.asarray(score, dtype=np.float64)),
            "pd": pa.array(np.asarray(pd_, dtype=np.float64)),
            "tier": pa.array(outcome.tier.astype(str)),
            "credit_points": pa.array(outcome.credit_points.astype(np.int32)),
            "pre_credit_limit": pa.array(outcome.pre_credit_limit.astype(np.int64)),
            "rate_bp": pa.array(outcome.rate_bp.astype(np.int64)),
            "admitted": pa.array(outcome.admitted.astype(bool)),
            "knockouts": pa.array(np.char.rstrip(knockouts, ",")),
            "reason_1": pa.array(reasons[:, 0].tolist(), pa.string()),
            "reason_2": pa.array(reasons[:, 1].tolist(), pa.string()),
            "reason_3": pa.array(reasons[:, 2].tolist(), pa.string()),
            "policy_version": pa.array([policy.version] * n),
            "scored_at": pa.array([now] * n, pa.timestamp("us")),
        }
    )


#: Money and rates become exact decimals in the warehouse: yuan, and basis points / 100.
_STORED_AS = {
    "pre_credit_limit": "CAST(pre_credit_limit AS DECIMAL(18,2))",
    "rate": "CAST(rate_bp AS DECIMAL(8,0)) * 0.01",
}


def stored_select() -> str:
    """SELECT list turning a :func:`score_tables` result into the stored columns."""
    return ", ".join(
        f"{_STORED_AS[name]} AS {name}" if name in _STORED_AS else name
        for name, _ in SCORES_COLUMNS
    )


def _store_scores(con: duckdb.DuckDBPyConnection, table: pa.Table, as_of: date, owner: str) -> None:
    ddl = ", ".join(f"{name} {kind}" for name, kind in SCORES_COLUMNS)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE TABLE IF NOT EXISTS {SCORES_TABLE} ({ddl})")
        con.execute(f"DELETE FROM {SCORES_TABLE} WHERE as_of = $1 AND owner = $2", [as_of, owner])
        con.register("new_scores", table)
        names = ", ".join(name for name, _ in SCORES_COLUMNS)
        con.execute(
            f"INSERT INTO {SCORES_TABLE} ({names}) SELECT {stored_select()} FROM new_scores"
        )
        con.unregister("new_scores")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


EXPORT_COLUMNS = (
    "uscc",
    "score",
    "pd",
    "tier",
    "credit_points",
    "pre_credit_limit",
    "rate",
    "reason_1",
    "reason_2",
    "reason_3",
)


def export_scores(
    con: duckdb.DuckDBPyConnection, as_of: date, out: Path, owner: str = PLATFORM
) -> int:
    """Write the scores of ``as_of`` to CSV: the champion's columns, then each challenger's
    ``challenger_<id>_score``, ``_pd`` and ``_reason_1..3``. Reasons are shown with their
    zh and en descriptions (:func:`reason_labels`)."""
    exists = scalar(
        con,
        f"SELECT count(*) FROM information_schema.tables WHERE table_name = '{SCORES_TABLE}'",
    )
    count = exists and scalar(
        con,
        f"SELECT count(*) FROM {SCORES_TABLE} WHERE as_of = $1 AND owner = $2 "
        "AND role = 'champion'",
        [as_of, owner],
    )
    if not count:
        raise PuhuiError(
            f"还没有 {as_of} 的评分，请先运行 puhui score --as-of {as_of}",
            f"there are no scores as of {as_of}: run puhui score --as-of {as_of} first",
        )
    challenger_ids = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT model_id FROM {SCORES_TABLE} WHERE as_of = $1 AND owner = $2"
            " AND role = 'challenger' ORDER BY 1",
            [as_of, owner],
        ).fetchall()
    ]

    def shown(column: str) -> str:
        # A reason is exported with its zh and en description (the code leads the text).
        return f"coalesce((SELECT label FROM reason_labels WHERE code = {column}), {column})"

    champion_cols = ", ".join(
        "round(c.pd, 6) AS pd"
        if c == "pd"
        else f"{shown('c.' + c)} AS {c}"
        if c.startswith("reason_")
        else f"c.{c}"
        for c in EXPORT_COLUMNS
    )
    selects, joins = [champion_cols], []
    for model_id in challenger_ids:
        alias = f"m{model_id}"
        selects.append(
            f"{alias}.score AS challenger_{model_id}_score, "
            f"round({alias}.pd, 6) AS challenger_{model_id}_pd, "
            + ", ".join(
                f"{shown(f'{alias}.reason_{i}')} AS challenger_{model_id}_reason_{i}"
                for i in (1, 2, 3)
            )
        )
        joins.append(
            f"LEFT JOIN (SELECT * FROM {SCORES_TABLE} WHERE as_of = $1 AND owner = $2"
            f" AND model_id = {model_id}) {alias} ON {alias}.uscc = c.uscc"
        )
    query = (
        f"SELECT {', '.join(selects)} FROM (SELECT * FROM {SCORES_TABLE} WHERE as_of = $1"
        f" AND owner = $2 AND role = 'champion') c {' '.join(joins)} ORDER BY c.uscc"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    # COPY keeps money and rates as the exact decimals they are stored as.
    query = query.replace("$1", _day(as_of)).replace("$2", literal(owner))
    labels = reason_labels()
    con.register("reason_labels", pa.table({"code": list(labels), "label": list(labels.values())}))
    try:
        con.execute(f"COPY ({query}) TO {literal(str(out))} (HEADER, DELIMITER ',')")
    finally:
        con.unregister("reason_labels")
    return int(count)


# --------------------------------------------------------------------------- monitoring


@dataclass(frozen=True)
class Drift:
    name: str
    psi: float
    in_model: bool  # an input of the champion (the score's own row counts as one)


def monitor(
    con: duckdb.DuckDBPyConnection,
    session: Session,
    models_dir: Path,
    as_of: date,
    owner: str = PLATFORM,
) -> tuple[ModelVersion, list[Drift]]:
    """PSI of the champion's score and of every model feature: training samples → ``as_of``.

    The first row is the score; then the champion's inputs, then the other features, each
    largest PSI first. A feature the training samples do not hold is left out.
    """
    _require_features(con, as_of)
    champion = champion_of(session, owner)
    artefact = load_artefact(champion)
    training = load_training(models_dir, champion)
    inputs = set(_inputs(artefact))
    names = [n for n in model_features() if n in training.frame.columns]
    today = _feature_frame(duckdb_query(con), as_of, sorted(inputs | set(names)))
    expected_score, _ = predict(artefact, training.frame)
    actual_score, _ = predict(artefact, today)
    drifts = []
    for name in names:
        expected, actual = training.frame[name].to_numpy(), today[name].to_numpy()
        if name in CATEGORICAL_FEATURES:
            value = psi_categorical(expected.astype(object), actual.astype(object))
        else:
            value = psi(expected.astype(np.float64), actual.astype(np.float64))
        drifts.append(Drift(name, value, name in inputs))
    drifts.sort(key=lambda d: (not d.in_model, -d.psi))
    return champion, [Drift("score", psi(expected_score, actual_score), True), *drifts]


def feature_labels() -> dict[str, tuple[str, str]]:
    """zh and en descriptions of every platform feature, by name."""
    return {f.name: (f.zh, f.en) for _, f in registered_features()}


def reason_labels() -> dict[str, str]:
    """How a reason is shown: the feature's name with its zh and en description, e.g.
    ``age_years（成立年限（年）；years since establishment）``."""
    return {name: f"{name}（{zh}；{en}）" for name, (zh, en) in feature_labels().items()}


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Evaluation:
    """AUC on loans the platform never saw, against the simulator's true PDs."""

    as_of: date
    loans: int
    bads: int
    oracle: SampleMetrics
    models: list[tuple[ModelVersion, SampleMetrics]]


def truth_as_of(truth_dir: Path) -> date:
    manifest = truth_dir / "manifest.json"
    if not manifest.exists():
        raise PuhuiError(
            f"{truth_dir} 不是模拟器的 truth 文件夹（没有 manifest.json）",
            f"{truth_dir} is not a simulator truth folder (no manifest.json)",
        )
    return date.fromisoformat(json.loads(manifest.read_text())["config"]["as_of"])


def evaluate_on_truth(
    con: duckdb.DuckDBPyConnection, session: Session, truth_dir: Path, owner: str = PLATFORM
) -> Evaluation:
    """Score the borrowers of every loan that started *after* the delivery's as-of date
    (hidden from the platform) with features as of that date, and compare each model's
    AUC on "90+ days past due within 12 months" with the AUC of the true PDs (the oracle).
    """
    as_of = truth_as_of(truth_dir)
    _require_features(con, as_of)
    loans = pd.read_parquet(truth_dir / "loans.parquet")
    entities = pd.read_parquet(truth_dir / "entities.parquet", columns=["uscc", "true_pd_12m"])
    future = loans.loc[~loans["in_delivery"], ["borrower_id", "bad_12m"]]
    future = future.merge(entities, left_on="borrower_id", right_on="uscc")
    models = [champion_of(session, owner), *challengers_of(session, owner)]
    names = sorted({n for m in models for n in _inputs(load_artefact(m))})
    frame = _feature_frame(duckdb_query(con), as_of, names)
    sample = future.merge(frame, on="uscc", how="inner")
    if sample.empty:
        raise PuhuiError(
            "truth 中没有可评估的未来贷款", "the truth folder holds no future loans to evaluate"
        )
    y = sample["bad_12m"].to_numpy(dtype=np.int8)
    results = []
    for model in models:
        _, pd_ = predict(load_artefact(model), sample)
        results.append((model, sample_metrics(f"model {model.id}", y, pd_)))
    oracle = sample_metrics("oracle", y, sample["true_pd_12m"].to_numpy())
    return Evaluation(as_of, len(sample), int(y.sum()), oracle, results)


# --------------------------------------------------------------------------- report


def _section(model: ModelVersion, training: TrainingSet) -> ModelSection:
    artefact = load_artefact(model)
    samples = []
    for name, part in (("train", training.train), ("out_of_time", training.test)):
        score, pd_ = predict(artefact, part)
        samples.append(ScoredSample(name, part["bad"].to_numpy(dtype=np.int8), pd_, score))
    return ModelSection(str(model.id), model.kind, model.status, model.owner, tuple(samples))


def _feature_psi(name: str, training: TrainingSet) -> float:
    expected = training.train[name].to_numpy()
    actual = training.test[name].to_numpy()
    if name in CATEGORICAL_FEATURES:
        return psi_categorical(expected.astype(object), actual.astype(object))
    return psi(expected.astype(np.float64), actual.astype(np.float64))


def _variables(scorecard: Scorecard, training: TrainingSet) -> tuple[VariableReport, ...]:
    labels = feature_labels()
    fitted = {v.name: v for v in scorecard.variables}
    reports = []
    for candidate in sorted(scorecard.selection, key=lambda c: (not c.selected, -c.iv)):
        variable = fitted.get(candidate.name)
        bins = tuple(
            BinRow(b.label, b.count, b.event_count, b.event_rate, b.woe, b.iv, b.points)
            for b in (variable.bins if variable else ())
        )
        zh, en = labels.get(candidate.name, (candidate.name, candidate.name))
        reports.append(
            VariableReport(
                name=candidate.name,
                zh=zh,
                en=en,
                iv=candidate.iv,
                selected=candidate.selected,
                reason_dropped=candidate.reason_dropped,
                bins=bins,
                psi=_feature_psi(candidate.name, training) if candidate.selected else None,
            )
        )
    return tuple(reports)


def build_report(
    session: Session, models_dir: Path, model_id: int, policy_version: str | None = None
) -> ValidationReport:
    """The validation report of a model, beside the other model of its training run."""
    model = get_model(session, model_id)
    training = load_training(models_dir, model)
    sibling = session.scalars(
        select(ModelVersion)
        .where(
            ModelVersion.training_fingerprint == model.training_fingerprint,
            ModelVersion.owner == model.owner,
            ModelVersion.kind != model.kind,
        )
        .order_by(ModelVersion.id.desc())
    ).first()
    primary = _section(model, training)
    other = _section(sibling, training) if sibling is not None else None
    scorecards = [m for m in (model, sibling) if m is not None and m.kind == SCORECARD]
    variables: tuple[VariableReport, ...] = ()
    if scorecards:
        card = load_artefact(scorecards[0])
        assert isinstance(card, Scorecard)
        variables = _variables(card, training)
    train_sample, oot_sample = primary.samples
    assert train_sample.score is not None
    assert oot_sample.score is not None
    notes = (
        f"samples: {len(training.frame):,} loans, label 90+ days past due within 12 months;"
        f" out-of-time: the latest {int(training.out_of_time.sum()):,} by start date",
    )
    return ValidationReport(
        title=f"模型 {model.id} Model {model.id}",
        created_at=model.created_at.isoformat(timespec="seconds"),
        as_of=model.as_of.isoformat(),
        training_fingerprint=model.training_fingerprint,
        policy_version=policy_version,
        champion=primary,
        challenger=other,
        variables=variables,
        score_psi=psi(train_sample.score, oot_sample.score),
        notes=notes,
    )


def write_artefacts(model: ModelVersion, out_dir: Path) -> list[Path]:
    """The model's readable artefacts beside its report: the JSON as registered, and for a
    scorecard its points table as CSV."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    artefact = load_artefact(model)
    json_path = out_dir / f"{model.kind}-{model.id}.json"
    json_path.write_text(model.artefact, encoding="utf-8")
    written.append(json_path)
    if isinstance(artefact, Scorecard):
        csv_path = out_dir / f"points-{model.id}.csv"
        csv_path.write_text(artefact.points_csv(), encoding="utf-8")
        written.append(csv_path)
    return written
