"""A known set of applications for the service report, on SQLite and PostgreSQL.

June 2026, three banks:

* 甲 (BANKA): 10 applications, accepted after 1..10 hours (median 5.5, p90 9.1); the first
  8 decided 10·i hours after acceptance (median 45, p90 73), 6 approved and 2 declined; the
  first 4 disbursed 2, 4, 6 and 100 hours after signing (median 5, p90 71.8); two SLA
  breaches (application 8's review took 79 h > 72 h, application 4's disbursement 100 h > 72 h)
  of 30 bank deadlines; applications 1 and 2 for a credit product, 3 for a mortgage product,
  4 from the pool; application 2's business had a loan disbursed in May (not a first loan),
  application 3's business has an older loan in the warehouse.
* 乙 (BANKB): 4 applications, accepted after 2, 4, 6, 8 hours (median 5, p90 7.4), each
  decided 1..4 hours later and approved; no loan disbursed; ranks first (submission to
  decision: median 7.5 h against 甲's 49.5 h).
* 丙 (BANKC): one application, not yet accepted: unranked.

Not counted: a pool application nobody claimed, 甲's application of July, 乙's May loan.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from puhui.identifiers import uscc_check_char
from tests.accounts.factories import make_bank, make_user
from tests.market.factories import make_product
from tests.service_report.factories import make_application

START, END = date(2026, 6, 1), date(2026, 6, 30)
T0 = datetime(2026, 6, 1, 9, 0)


def code(number: int) -> str:
    body = f"91331002{number:09d}"
    return body + uscc_check_char(body)


@dataclass(frozen=True)
class Known:
    warehouse_business: str  # application 3's business: a loan in the warehouse before


@pytest.fixture
def known(session: Session) -> Known:
    make_bank(session, "BANKA", "甲银行")
    make_bank(session, "BANKB", "乙银行")
    make_bank(session, "BANKC", "丙银行")
    user = make_user(session, "enterprise", uscc=code(1)).id
    credit = make_product(session, "BANKA", guarantee="credit").id
    mortgage = make_product(session, "BANKA", guarantee="mortgage").id

    # 乙's loan of May to application 2's business: before the period, and its first loan.
    make_application(
        session, user_id=user, uscc=code(2), bank="BANKB", submitted=datetime(2026, 5, 2, 9),
        stages={"accepted": 1, "under_review": 2, "approved": 3, "contract_signed": 4,
                "disbursed": 5},
    )  # fmt: skip
    for i in range(1, 11):
        stages: dict[str, float] = {"accepted": float(i)}
        if i <= 8:
            stages["under_review"] = i + 1.0
            stages["approved" if i <= 6 else "declined"] = i + 10.0 * i
        if i <= 4:
            signed = i + 10.0 * i + 24
            stages["contract_signed"] = signed
            stages["disbursed"] = signed + (2, 4, 6, 100)[i - 1]
        make_application(
            session,
            user_id=user,
            uscc=code(i),
            bank="BANKA",
            submitted=T0 + timedelta(days=i),
            stages=stages,
            amount="50000",
            approved_amount="100000.10" if i == 1 else None,
            product_id={1: credit, 2: credit, 3: mortgage}.get(i),
        )
    for j, hours in enumerate((2, 4, 6, 8), start=1):
        make_application(
            session, user_id=user, uscc=code(20 + j), bank="BANKB",
            submitted=T0 + timedelta(days=j, hours=3),
            stages={"accepted": hours, "under_review": hours + 0.5, "approved": hours + j},
        )  # fmt: skip
    make_application(session, user_id=user, uscc=code(30), bank="BANKC", submitted=T0)
    make_application(session, user_id=user, uscc=code(31), bank=None, submitted=T0)
    make_application(
        session, user_id=user, uscc=code(32), bank="BANKA", submitted=datetime(2026, 7, 5, 9),
        stages={"accepted": 500},
    )  # fmt: skip
    return Known(warehouse_business=code(3))
