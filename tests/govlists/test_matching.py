"""Government lists in matching: a product restricted to a list matches only its members, and
only when the list was pushed to the product's bank; a 专精特新 list feeds ``specialized``;
listed businesses are flagged on the bank's white list. Checked through the real refresh on
a small warehouse (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import numpy as np
import pytest
from sqlalchemy.orm import Session

from puhui.market import matching
from puhui.market import service as market
from tests.accounts.factories import make_bank
from tests.govlists.factories import OPERATOR, make_list, uscc
from tests.market.factories import make_product

AS_OF = date(2026, 6, 30)


@pytest.fixture
def warehouse() -> duckdb.DuckDBPyConnection:
    """Five businesses, all good borrowers; business 5 has the 专精特新 honour."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE scores (as_of DATE, owner VARCHAR, role VARCHAR, uscc VARCHAR,"
        " score DOUBLE, pd DOUBLE, tier VARCHAR, credit_points INTEGER,"
        " pre_credit_limit DECIMAL(18,2), rate DECIMAL(6,2))"
    )
    con.execute("CREATE TABLE features (uscc VARCHAR, as_of DATE, honor_specialized DOUBLE)")
    for n in range(1, 6):
        con.execute(
            "INSERT INTO scores VALUES ($1, 'platform', 'champion', $2, 700, 0.01, 'growth',"
            " 700, 300000, 4.5)",
            [AS_OF, uscc(n)],
        )
        con.execute("INSERT INTO features VALUES ($1, $2, $3)", [uscc(n), AS_OF, float(n == 5)])
    return con


def _eligible(session: Session, product_id: int) -> list[str]:
    return sorted(m.uscc for m in market.list_matches(session, OPERATOR, product_id).items)


def test_lists_restrict_and_flag_in_the_refresh(
    session: Session, warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    make_bank(session, "BANKA", "甲银行")
    make_bank(session, "BANKB", "乙银行")
    make_list(session, "GOV1", kind="other", members=[uscc(1), uscc(2)], banks=["BANKA"])
    make_list(session, "SRDI", kind="srdi", members=[uscc(3)], banks=["BANKA"])
    make_list(session, "FL", kind="first_loan", members=[uscc(4)], banks=["BANKB"])
    make_list(session, "DRAFT", kind="other", members=[uscc(5)])  # never pushed

    only_gov1 = make_product(session, "BANKA", policy_lists=["list:GOV1"])
    gov1_at_b = make_product(session, "BANKB", policy_lists=["list:GOV1"])
    specialised = make_product(session, "BANKA", policy_lists=["specialized"])
    anyone = make_product(session, "BANKA")
    first_loan_a = make_product(session, "BANKA", policy_lists=["first_loan"])
    first_loan_b = make_product(session, "BANKB", policy_lists=["first_loan"])
    draft_list = make_product(session, "BANKA", policy_lists=["list:DRAFT"])

    run = market.refresh_matches(warehouse, session, AS_OF, directory=tmp_path)
    assert run.businesses == 5

    assert _eligible(session, only_gov1.id) == [uscc(1), uscc(2)]
    assert _eligible(session, gov1_at_b.id) == []  # GOV1 was not pushed to bank B
    assert _eligible(session, specialised.id) == [uscc(3), uscc(5)]  # list or honour
    assert _eligible(session, anyone.id) == [uscc(n) for n in range(1, 6)]
    assert _eligible(session, first_loan_a.id) == []
    assert _eligible(session, first_loan_b.id) == [uscc(4)]
    assert _eligible(session, draft_list.id) == []

    # Those left out are near misses for the list rule only.
    near = [market.business_match(session, OPERATOR, uscc(n), only_gov1.id) for n in (3, 4, 5)]
    assert [m.reasons if m else None for m in near] == [["policy_list"]] * 3

    # Lists count from the refresh on: a list pushed after it does not change the matches.
    make_list(session, "LATE", kind="other", members=[uscc(1)], banks=["BANKB"])
    late = make_product(session, "BANKB", policy_lists=["list:LATE"])
    assert _eligible(session, late.id) == []

    # Bank A's white list flags its lists' members; bank B's flags only its own lists.
    white = market.list_matches(session, OPERATOR, anyone.id).items
    flags = market.government_flags(session, white)
    assert {u: flags.get((anyone.id, u)) for u in (m.uscc for m in white)} == {
        uscc(1): ["GOV1"],
        uscc(2): ["GOV1"],
        uscc(3): ["SRDI"],
        uscc(4): None,
        uscc(5): None,
    }
    white_b = market.list_matches(session, OPERATOR, first_loan_b.id).items
    assert market.government_flags(session, white_b) == {(first_loan_b.id, uscc(4)): ["FL"]}

    # Members show the bank's limits from the refresh.
    offers = market.best_offers(session, [uscc(1), uscc(4)], "BANKA")
    assert offers[uscc(1)] == (Decimal("300000.00"), 2)  # "anyone" and the GOV1 product
    assert uscc(4) in offers


def test_government_columns_are_one_vectorised_isin() -> None:
    """The pure part: one more membership column per list, and the products' requirements
    expanded per bank."""
    products = matching.Products.of(
        [
            {"amount_min": 1, "amount_max": 10, "rate_min": 3, "rate_max": 9,
             "policy_lists": ["list:X", "govlist:X"]},
            {"amount_min": 1, "amount_max": 10, "rate_min": 3, "rate_max": 9,
             "policy_lists": ["list:X"]},
        ]
    )  # fmt: skip
    region = matching.Businesses(
        uscc=np.asarray(["A", "B", "C"]),
        entity_type=np.asarray(["", "", ""]),
        industry_division=np.asarray(["", "", ""]),
        district=np.asarray(["", "", ""]),
        tier=np.asarray(["", "", ""]),
        score=np.full(3, 700.0),
        credit_points=np.full(3, 700.0),
        pd=np.full(3, 0.01),
        age_years=np.full(3, 5.0),
        dishonest_active=np.zeros(3, bool),
        abnormal_active=np.zeros(3, bool),
        policy_lists=np.zeros((3, 0), bool),
        policy_list_codes=(),
        pre_credit_limit=np.full(3, 5.0),
        rate=np.full(3, 4.0),
    )
    from puhui.govlists.service import Membership

    lists = [Membership("X", "other", frozenset({"BANKA"}), np.asarray(["B", "C"]))]
    widened = market.with_government_lists(region, lists)
    assert widened.policy_list_codes == ("govlist:X",)
    assert widened.policy_lists[:, 0].tolist() == [False, True, True]
    found = matching.match(products, widened)
    assert found.eligible[:, 0].tolist() == [False, True, True]
    assert found.eligible[:, 1].tolist() == [False, False, False]  # list:X names no column
