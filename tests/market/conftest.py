"""Two banks for every market test that needs the app database."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.accounts.factories import make_bank


@pytest.fixture
def banks(session: Session) -> tuple[str, str]:
    make_bank(session, "BANKA", "甲银行")
    make_bank(session, "BANKB", "乙银行")
    return "BANKA", "BANKB"
