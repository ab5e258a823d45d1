"""The probabilistic linker: a Fellegi–Sunter model fitted and applied with Splink.

Records that neither carry a registered uscc nor a person's id are compared with every
registered business that shares a blocking key. Splink estimates, for each comparison
level, how often it occurs among true matches (m, by expectation maximisation) and among
random pairs (u, by random sampling), and turns the levels a pair reaches into a match
probability.

Comparisons (see :mod:`puhui.link.records` for the columns):

* ``name_norm``: the normalised name exact (with term-frequency adjustment: a common shop
  name says less than a rare one; a name written exactly as registered is in this level
  too — as a level of its own, EM trained on the address session gave it less weight than
  the normalised match at 1,000,000 businesses and lost a third of the penalties); Jaro–Winkler
  ≥ 0.92, ≥ 0.80; the written name is the business's legal representative (an individual
  business written under its owner's name — one level of the same comparison, because
  the business's own name then cannot agree, and two comparisons would count that twice);
  else;
* ``name_form``: for a record written with its legal form, the same region prefix and
  legal form as the business's registered name or not (台州市…有限公司 is not
  浙江…股份有限公司, though both normalise to the same trade name);
* ``district``: same county-level division or not;
* ``court_district``: the case was heard in the business's district or not;
* ``address_key``: same road and number or not.

Blocking (the pairs that are scored at all): same normalised name; same district and the
same first two and last two characters of the name ("name tokens": 王记…面馆; the first two
alone pair every 王记 shop of a county with every other at a million businesses); same
address; same owner name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import duckdb
from splink import SettingsCreator

from puhui.engine import DuckDBEngine, SparkEngine, SqlEngine
from puhui.ingest.warehouse import memory_share

#: m of "written under the owner's name": the share of true matches written that way.
#: Fixed rather than estimated, because such a record agrees with its business on nothing
#: else (no name, no address), so expectation maximisation cannot tell these true pairs
#: from chance namesakes and drives the weight below zero.
OWNER_NAME_M = 0.05

COLUMNS = (
    "uid", "name", "name_norm", "name_form", "owner_key", "district", "court_district",
    "address_key",
)  # fmt: skip


@dataclass(frozen=True)
class ModelSummary:
    """What was fitted: the prior and each comparison level's match weight."""

    probability_two_random_records_match: float
    match_weights: dict[str, float]


def _settings() -> SettingsCreator:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import block_on

    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="uid",
        comparisons=[
            cl.CustomComparison(
                output_column_name="name_norm",
                comparison_levels=[
                    cll.NullLevel("name_norm"),
                    cll.ExactMatchLevel("name_norm", term_frequency_adjustments=True),
                    cll.JaroWinklerLevel("name_norm", 0.92),
                    cll.JaroWinklerLevel("name_norm", 0.8),
                    # An individual business written under its owner's own name: a level
                    # of the name comparison, since the name itself then cannot agree.
                    cll.CustomLevel(
                        "owner_key_l = owner_key_r", label_for_charts="written as the owner"
                    ).configure(
                        m_probability=OWNER_NAME_M,
                        fix_m_probability=True,
                        tf_adjustment_column="owner_key",
                    ),
                    cll.ElseLevel(),
                ],
            ),
            cl.ExactMatch("name_form"),
            cl.ExactMatch("district"),
            cl.ExactMatch("court_district"),
            cl.ExactMatch("address_key"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("name_norm"),
            block_on("district", "substr(name_norm, 1, 2)", "right(name_norm, 2)"),
            block_on("address_key"),
            block_on("owner_key"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def predict(
    engine: SqlEngine,
    records_sql: str,
    entities_sql: str,
    out_table: str,
    min_probability: float = 0.01,
    seed: int = 1,
) -> ModelSummary:
    """Fit the model on records × entities and score the blocked pairs into ``out_table``.

    ``records_sql`` and ``entities_sql`` are SELECTs (on ``engine``) with the columns
    :data:`COLUMNS`, ``uid`` unique within each. ``out_table`` becomes a working table of
    ``engine`` with (``record_uid``, ``entity_uid``, ``match_probability``) for every pair
    scoring at least ``min_probability``. On DuckDB, Splink runs in its own in-memory
    database, so its working tables never reach the warehouse file; on Spark, it runs on
    the same session.
    """
    columns = ", ".join(COLUMNS)
    if isinstance(engine, DuckDBEngine):
        records = engine.arrow(f"SELECT {columns} FROM ({records_sql}) AS r ORDER BY uid")
        entities = engine.arrow(f"SELECT {columns} FROM ({entities_sql}) AS e ORDER BY uid")
        # Splink's own database: bounded like the warehouse's connection (whose cap the
        # caller chose), spilling to disk.
        limit = str(engine.rows("SELECT current_setting('memory_limit')")[0][0])
        con = duckdb.connect(
            config={"memory_limit": _memory_limit(limit), "preserve_insertion_order": False}
        )
        try:
            con.execute("SET enable_progress_bar = false")
            con.register("puhui_link_records", records)
            con.register("puhui_link_entities", entities)
            con.execute("CREATE TABLE link_records AS SELECT * FROM puhui_link_records")
            con.execute("CREATE TABLE link_entities AS SELECT * FROM puhui_link_entities")
            from splink.backends.duckdb import DuckDBAPI

            pairs_sql, summary = _fit_and_score(DuckDBAPI(connection=con), min_probability, seed)
            engine.register(out_table, con.sql(pairs_sql).to_arrow_table())
        finally:
            con.close()
        return summary
    if isinstance(engine, SparkEngine):
        from splink.backends.spark import SparkAPI

        engine.materialize("link_records", f"SELECT {columns} FROM ({records_sql}) AS r")
        engine.materialize("link_entities", f"SELECT {columns} FROM ({entities_sql}) AS e")
        api = SparkAPI(spark_session=engine.spark)  # type: ignore[no-untyped-call]
        pairs_sql, summary = _fit_and_score(api, min_probability, seed)
        engine.spark.sql(pairs_sql).cache().createOrReplaceTempView(out_table)
        for table in ("link_records", "link_entities"):
            engine.drop(table)
        return summary
    raise TypeError(f"no linker for engine {engine.name}")


def _memory_limit(warehouse_limit: str) -> str:
    """The warehouse connection's limit, and at most two fifths of the machine's memory:
    the warehouse connection needs room too."""
    units = {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40,
             "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}  # fmt: skip
    share = memory_share(0.4)
    number, _, unit = warehouse_limit.strip().partition(" ")
    try:
        limit = float(number) * units[unit]
    except (KeyError, ValueError):
        return share
    return f"{int(min(limit, float(share.removesuffix('MB')) * 2**20)) // 2**20}MB"


def _fit_and_score(db_api: Any, min_probability: float, seed: int) -> tuple[str, ModelSummary]:
    """Fit on the tables ``link_records`` and ``link_entities`` of ``db_api``; returns the
    SQL (in the engine's own dialect) that reads the scored pairs, and the parameters."""
    from splink import Linker, block_on

    left = db_api.register("link_records", dataset_display_name="records")
    right = db_api.register("link_entities", dataset_display_name="entities")
    linker = Linker([left, right], _settings(), log_level=logging.ERROR)
    training = linker.training
    training.estimate_probability_two_random_records_match(
        [block_on("name_norm", "district")], recall=0.7
    )
    training.estimate_u_using_random_sampling(max_pairs=2_000_000, seed=seed)
    # Each session trains the comparisons its blocking rule leaves free: same name
    # (district, court district, address), same address (name). The owner level's m is
    # fixed (see OWNER_NAME_M); a session to train it would have to block on the surname,
    # which pairs a large share of a county with itself.
    for rule in (block_on("name_norm"), block_on("address_key")):
        training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    predictions = linker.inference.predict(threshold_match_probability=min_probability)
    pairs_sql = f"""
        SELECT CAST(CASE WHEN source_dataset_l = 'records' THEN uid_l ELSE uid_r END
                    AS BIGINT) AS record_uid,
               CAST(CASE WHEN source_dataset_l = 'records' THEN uid_r ELSE uid_l END
                    AS BIGINT) AS entity_uid,
               match_probability
        FROM {predictions.physical_name}
    """
    return pairs_sql, _summary(linker)


def _summary(linker: object) -> ModelSummary:
    settings = linker._settings_obj  # type: ignore[attr-defined]
    weights: dict[str, float] = {}
    for comparison in settings.comparisons:
        for level in comparison.comparison_levels:
            if level.is_null_level:
                continue
            name = f"{comparison.output_column_name}: {level.label_for_charts}"
            weights[name] = round(float(level._match_weight), 3)
    return ModelSummary(
        probability_two_random_records_match=float(settings._probability_two_random_records_match),
        match_weights=weights,
    )
