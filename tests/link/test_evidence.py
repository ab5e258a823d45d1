"""The evidence beyond names, rule by rule, on hand-made rows."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from puhui.link.evidence import (
    CANCELLED_GRACE_DAYS,
    Factor,
    existed,
    pair_factor_sql,
    through_owner,
)


@pytest.mark.parametrize(
    ("established", "closed_on", "dated_on", "expected"),
    [
        (date(2020, 1, 1), None, date(2024, 5, 1), True),
        (date(2024, 5, 1), None, date(2024, 5, 1), True),  # registered that very day
        (date(2024, 5, 2), None, date(2024, 5, 1), False),  # not yet registered
        (date(2020, 1, 1), date(2024, 4, 1), date(2024, 5, 1), True),  # within the grace
        (date(2020, 1, 1), date(2023, 1, 1), date(2024, 5, 1), False),  # long cancelled
        (date(2024, 5, 2), None, None, True),  # an undated record says nothing
    ],
)
def test_a_candidate_must_have_existed_on_the_records_date(
    established: date, closed_on: date | None, dated_on: date | None, expected: bool
) -> None:
    con = duckdb.connect()
    row = con.execute(
        f"SELECT {existed('r', 'e')} FROM (SELECT $1::DATE AS dated_on) r,"
        " (SELECT $2::DATE AS established, $3::DATE AS closed_on) e",
        [dated_on, established, closed_on],
    ).fetchall()
    assert row == [(expected,)]
    assert (date(2024, 5, 1) - date(2023, 1, 1)).days > CANCELLED_GRACE_DAYS


def test_bayes_factors_by_role_distress_and_the_other_party() -> None:
    factors = [
        Factor("distress:enforcement", m=0.6, u=0.2, labelled=100),
        Factor("opposite_business", m=0.2, u=0.8, labelled=100),
        Factor("exact_name:court", m=0.4, u=0.001, labelled=100),
    ]
    assert factors[0].agrees == pytest.approx(3.0)
    assert factors[0].disagrees == pytest.approx(0.5)
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE pairs AS SELECT * FROM (VALUES"
        # a party under enforcement, written as the owner, opposite a bank; distressed
        " (1, 'court', '王勇', '王勇', '王勇', '王记面馆', '椒江区王记面馆', 1, 'enforcement',"
        "  FALSE, DATE '2024-05-01', DATE '2024-01-01'),"
        # the same opposite a registered business, never distressed
        " (2, 'court', '王勇', '王勇', '王勇', '王记面馆', '椒江区王记面馆', 2, 'enforcement',"
        "  TRUE, DATE '2024-05-01', NULL),"
        # a plaintiff (no factor estimated) written exactly as the registered name
        " (3, 'court', '椒江区王记面馆', '王记面馆', '王勇', '王记面馆', '椒江区王记面馆', 3,"
        "  'plaintiff', TRUE, DATE '2024-05-01', DATE '2024-01-01'),"
        # a penalty written exactly: no case, and no factor estimated for penalties
        " (4, 'penalties', '椒江区王记面馆', '王记面馆', '王勇', '王记面馆', '椒江区王记面馆',"
        "  NULL, NULL, NULL, DATE '2024-05-01', DATE '2024-01-01')"
        ") AS t(id, feed, name, name_norm, owner_key, e_name_norm, e_name, case_uid,"
        " role_group, opposite_business, dated_on, distressed_on)"
    )
    sql = pair_factor_sql(factors, "r", "e", "c", "d")
    owner = through_owner("r", "e")
    rows = con.execute(
        f"""
        SELECT id, {sql}, {owner}
        FROM (SELECT id, feed, name, name_norm FROM pairs) r
        JOIN (SELECT id, owner_key, e_name_norm AS name_norm, e_name AS name FROM pairs) e
          USING (id)
        JOIN (SELECT id, case_uid AS uid, role_group, opposite_business, dated_on FROM pairs) c
          USING (id)
        JOIN (SELECT id, distressed_on FROM pairs) d USING (id)
        ORDER BY id
        """
    ).fetchall()
    assert [r[0] for r in rows] == [1, 2, 3, 4]
    assert float(rows[0][1]) == pytest.approx(3.0 * 0.8 / 0.2)
    assert float(rows[1][1]) == pytest.approx(0.5 * 0.2 / 0.8)
    assert float(rows[2][1]) == pytest.approx(0.4 / 0.001)
    assert float(rows[3][1]) == pytest.approx(1.0)
    assert [r[2] for r in rows] == [True, True, False, False]
