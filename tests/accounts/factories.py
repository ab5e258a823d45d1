"""Test data for accounts: banks, users and clients with sensible defaults."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor
from puhui.accounts.models import Bank, User
from puhui.accounts.service import NewClient, create_bank, create_client, create_user

PASSWORD = "correct horse battery"
#: Valid USCCs (check characters included) for enterprise users.
USCCS = ("91110000600037341L", "91331002123456788L")
_numbers = itertools.count(1)


def make_bank(session: Session, code: str = "ZJRCB", name: str = "浙江农商银行") -> Bank:
    return create_bank(session, Actor.system("test"), code, name)


def make_user(
    session: Session,
    role: str = "operator",
    *,
    username: str | None = None,
    bank: str | None = None,
    uscc: str | None = None,
    password: str = PASSWORD,
) -> User:
    return create_user(
        session,
        Actor.system("test"),
        username=username or f"{role}-{next(_numbers)}",
        password=password,
        role=role,
        bank_code=bank,
        uscc=uscc,
    )


def make_client(session: Session, bank: str = "ZJRCB", name: str = "loan system") -> NewClient:
    return create_client(session, Actor.system("test"), bank, name)
