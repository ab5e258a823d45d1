"""Linking a simulated region: accuracy against the truth, the three methods, review,
export, and the rules for person ids."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from puhui.errors import PuhuiError
from puhui.ingest.warehouse import connect
from puhui.link.records import LINKED_FEEDS
from puhui.link.service import evaluate, export_links, review_rows, run_link
from tests.conftest import WAREHOUSE_KEY


@pytest.fixture
def warehouse(linked_region: tuple[Path, Path]) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(linked_region[1], WAREHOUSE_KEY)
    yield con
    con.close()


def test_records_without_uscc_are_linked_precisely_and_completely(
    linked_region: tuple[Path, Path], warehouse: duckdb.DuckDBPyConnection
) -> None:
    results = evaluate(warehouse, linked_region[0] / "truth")
    assert [r.feed for r in results] == list(LINKED_FEEDS)
    for r in results:
        assert r.resolvable > 100, r
        assert r.precision >= 0.99, r
        assert r.recall >= 0.97, r


def test_every_record_is_in_links_once_with_a_consistent_method(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    links = warehouse.sql("SELECT * FROM links").df()
    assert not links.duplicated(["feed", "record_key"]).any()
    utilities = warehouse.sql(
        "SELECT count(DISTINCT (utility, account_no)) FROM feed_utilities"
    ).fetchall()[0][0]
    assert (links.feed == "utilities").sum() == utilities
    linked = links[links.status == "linked"]
    assert linked.uscc.notna().all()
    assert linked.method.isin(["uscc", "person", "probabilistic"]).all()
    assert (linked[linked.method != "probabilistic"].probability == 1.0).all()
    assert (linked.probability >= 0.4).all()
    unlinked = links[links.status != "linked"]
    assert unlinked.uscc.isna().all()
    assert unlinked.reason.notna().all()
    # A record that carried a registered uscc is linked to exactly that business.
    given = warehouse.sql(
        "SELECT l.uscc, p.uscc AS written FROM links l JOIN feed_penalties p "
        "ON l.feed = 'penalties' AND l.record_key = p.decision_no WHERE l.given = 'uscc'"
        " AND l.status = 'linked'"
    ).df()
    assert len(given) > 0
    assert (given.uscc == given.written).all()


def test_person_records_go_only_to_individual_businesses(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    kinds = warehouse.sql(
        "SELECT DISTINCT g.entity_type FROM links l JOIN feed_registrations g USING (uscc) "
        "WHERE l.method = 'person'"
    ).fetchall()
    assert kinds == [("individual",)]
    # Court counterparties who are private persons stay unlinked, as people.
    people = warehouse.sql(
        "SELECT count(*) FROM links WHERE reason = 'person_without_business'"
    ).fetchall()[0][0]
    assert people > 0


def test_no_record_goes_to_a_business_that_did_not_exist_on_its_date(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    # A case filed, or a penalty decided, before the business was registered, or well after
    # it was cancelled, is about some other business.
    dated = warehouse.sql(
        """
        WITH dated AS (
            SELECT 'court' AS feed, case_no || '|' || party_name AS record_key,
                   filed_on AS dated_on FROM feed_court
            UNION ALL
            SELECT 'penalties', decision_no, decided_on FROM feed_penalties
        )
        SELECT count(*) FILTER (WHERE l.method IN ('person', 'probabilistic')),
               count(*) FILTER (WHERE l.method IN ('person', 'probabilistic')
                   AND (g.established > d.dated_on
                        OR (g.status = 'cancelled'
                            AND g.closed_on < d.dated_on - INTERVAL 90 DAY)))
        FROM links l JOIN dated d USING (feed, record_key)
        JOIN feed_registrations g ON g.uscc = l.uscc
        """
    ).fetchall()[0]
    assert dated[0] > 500
    assert dated[1] == 0


def test_the_evidence_beyond_names_is_estimated_from_the_region(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    report = json.loads(
        warehouse.sql("SELECT report FROM link_runs ORDER BY linked_at DESC LIMIT 1").fetchall()[0][
            0
        ]
    )
    evidence = report["model"]["evidence"]
    # Parties under enforcement are mostly businesses in trouble; a party written as a
    # person's name opposite a registered business is mostly a private person.
    enforcement = evidence["distress:enforcement"]
    assert enforcement["labelled"] >= 30
    assert enforcement["factor_agrees"] > 1 > enforcement["factor_disagrees"]
    assert evidence["opposite_business"]["factor_agrees"] < 1
    assert report["model"]["owner_scale"]["labelled"] >= 30


def test_review_lists_candidates_with_reasons(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = review_rows(warehouse, limit=20)
    assert rows, "a region of this size has some records to review"
    for row in rows:
        assert row["feed"] in LINKED_FEEDS
        assert row["candidate_uscc"]
        assert row["reason_zh"]
        assert row["reason_en"]
    assert all(r["feed"] == "court" for r in review_rows(warehouse, feed="court"))


def test_export_has_the_contract_columns(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    out = tmp_path / "links.csv"
    count = export_links(warehouse, out)
    exported = pd.read_csv(out, dtype=str)
    assert list(exported.columns) == ["feed", "record_key", "uscc", "method", "probability"]
    assert len(exported) == count
    assert set(exported.feed) == set(LINKED_FEEDS)
    assert (
        exported.record_key[exported.feed == "utilities"].str.match(r"^(electricity|water)\|").all()
    )


def test_relinking_gives_the_same_links(warehouse: duckdb.DuckDBPyConnection) -> None:
    before = warehouse.sql("SELECT feed, record_key, uscc FROM links ORDER BY ALL").fetchall()
    run_link(warehouse)
    after = warehouse.sql("SELECT feed, record_key, uscc FROM links ORDER BY ALL").fetchall()
    assert after == before


def test_bad_threshold_and_missing_truth_are_clear_errors(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    with pytest.raises(PuhuiError, match="threshold"):
        run_link(warehouse, threshold=0.0)
    with pytest.raises(PuhuiError, match="not found"):
        evaluate(warehouse, tmp_path)
