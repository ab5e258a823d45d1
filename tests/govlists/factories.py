"""Test data for government lists: actors, lists, profiles and upload files."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from io import BytesIO

from openpyxl import Workbook
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor, Role
from puhui.accounts.service import actor_for_user
from puhui.features.models import Profile
from puhui.govlists import service
from puhui.govlists.models import GovList
from puhui.identifiers import uscc_check_char
from tests.accounts.factories import make_user

_numbers = itertools.count(1)
#: The platform at the command line.
OPERATOR = Actor.system("test")


def uscc(number: int, region: str = "331002") -> str:
    """A valid uscc (check character included) for test business ``number``."""
    body = f"91{region}{number:09d}"
    return body + uscc_check_char(body)


def government(session: Session) -> Actor:
    """A government user (a real row: lists and pushes name their user)."""
    return actor_for_user(make_user(session, "government"))


def bank_actor(session: Session, bank: str, role: Role = Role.BANK_OFFICER) -> Actor:
    return actor_for_user(make_user(session, str(role), bank=bank))


def enterprise(code: str) -> Actor:
    return Actor(kind="user", id=str(next(_numbers) + 5000), role=Role.ENTERPRISE, uscc=code)


def make_list(
    session: Session,
    code: str = "KJ2026",
    kind: str = "tech",
    *,
    members: list[str] | None = None,
    banks: list[str] | None = None,
    name: str = "科技型企业培育名单",
) -> GovList:
    created = service.create_list(session, OPERATOR, code, name, kind)
    if members:
        content = ("uscc\n" + "\n".join(members) + "\n").encode()
        service.upload_members(session, OPERATOR, code, "members.csv", content)
    if banks:
        service.push_list(session, OPERATOR, code, banks)
    return created


def make_profile(
    session: Session,
    code: str,
    *,
    entity_type: str = "enterprise",
    district: str = "331002",
    industry_code: str = "1391",
    name: str | None = None,
) -> Profile:
    row = Profile(
        uscc=code,
        as_of=date(2026, 6, 30),
        name=name or f"测试企业{code[-6:]}",
        entity_type=entity_type,
        district=district,
        industry_code=industry_code,
        document="{}",
        published_at=datetime(2026, 7, 1, 8, 0),
    )
    session.add(row)
    session.flush()
    return row


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()
