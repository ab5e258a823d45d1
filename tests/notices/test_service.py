"""Queueing (validation, the caller's transaction), who sees which notices, and retrying a
dead one — on SQLite and PostgreSQL, each test rolled back."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor, Role
from puhui.accounts.service import actor_for_user, audit_entries
from puhui.notices.models import Notice
from puhui.notices.service import (
    NoticeConflictError,
    NoticeError,
    NoticeForbiddenError,
    NoticeNotFoundError,
    count_by_status,
    list_notices,
    queue_notice,
    retry_dead,
    retry_notice,
)
from puhui.pagination import PageRequest
from tests.accounts.factories import USCCS, make_user
from tests.notices.factories import EMAIL, PHONE, make_notice


def test_queue_writes_a_pending_notice_due_now(session: Session) -> None:
    notice = queue_notice(
        session,
        channel="sms",
        kind="application.stage",
        body="您的申请已受理",
        address=PHONE,
        application_id=42,
        params={"stage": "accepted"},
        dedupe_key="app-42-accepted-sms",
    )
    stored = session.scalars(select(Notice).where(Notice.id == notice.id)).one()
    assert (stored.status, stored.attempts, stored.channel) == ("pending", 0, "sms")
    assert stored.next_attempt_at == stored.created_at
    assert stored.params == {"stage": "accepted"}
    assert stored.sent_at is None
    assert stored.last_error is None


@pytest.mark.parametrize(
    ("values", "english"),
    [
        ({"channel": "fax", "address": PHONE}, "notice channel 'fax' is invalid"),
        ({"channel": "sms"}, "an sms or email notice needs an address"),
        ({"channel": "email", "address": ""}, "an sms or email notice needs an address"),
        ({"channel": "inapp"}, "an in-app notice needs a user"),
        ({"channel": "sms", "address": PHONE, "body": "  "}, "a notice needs a body"),
    ],
)
def test_queue_refuses_what_cannot_be_sent(
    session: Session, values: dict[str, str], english: str
) -> None:
    values.setdefault("body", "申请已受理")
    with pytest.raises(NoticeError) as raised:
        queue_notice(session, kind="application.stage", **values)  # type: ignore[arg-type]
    assert raised.value.message_en == english
    assert raised.value.message_zh  # and a Chinese line first
    assert raised.value.http_status == 400
    assert session.scalars(select(Notice)).all() == []


def test_a_dedupe_key_queues_a_notice_once(session: Session) -> None:
    make_notice(session, dedupe_key="app-7-approved")
    with pytest.raises(IntegrityError), session.begin_nested():
        make_notice(session, dedupe_key="app-7-approved")
    assert len(session.scalars(select(Notice)).all()) == 1


def test_a_user_sees_only_their_own_notices(session: Session) -> None:
    shop = make_user(session, "enterprise", uscc=USCCS[0])
    other = make_user(session, "enterprise", uscc=USCCS[1])
    operator = make_user(session, "operator")
    mine = [make_notice(session, "inapp", user_id=shop.id, body=f"第 {i} 条") for i in range(3)]
    make_notice(session, "sms", user_id=shop.id)
    make_notice(session, "inapp", user_id=other.id)
    make_notice(session, "email")  # to no user at all
    actor = actor_for_user(shop)
    listed = list_notices(session, actor, PageRequest(1, 2), channel="inapp")
    assert listed.total == 3
    assert [n.id for n in listed.items] == [mine[2].id, mine[1].id]  # newest first
    assert list_notices(session, actor, PageRequest(1, 20)).total == 4
    # An operator's user account has its own notices only; a bank's system none.
    assert list_notices(session, actor_for_user(operator), PageRequest()).total == 0
    client = Actor(kind="client", id="banka-1", role=Role.BANK_SYSTEM, bank_code="BANKA")
    assert list_notices(session, client, PageRequest()).total == 0
    # The platform itself (the CLI) sees all of them.
    assert list_notices(session, Actor.system(), PageRequest()).total == 6
    counts = count_by_status(session, Actor.system())
    assert counts == {"pending": 6, "sent": 0, "dead": 0}


def test_list_refuses_an_unknown_status(session: Session) -> None:
    with pytest.raises(NoticeError, match="status must be one of pending, sent, dead"):
        list_notices(session, Actor.system(), PageRequest(), status="lost")


def test_retry_brings_a_dead_notice_back_and_is_audited(session: Session) -> None:
    notice = make_notice(session, "email", address=EMAIL)
    notice.status, notice.attempts, notice.last_error = "dead", 8, "SMTP 451: SMTPDataError"
    session.flush()
    retried = retry_notice(session, Actor.system("ops"), notice.id)
    assert (retried.status, retried.attempts) == ("pending", 0)
    assert retried.last_error == "SMTP 451: SMTPDataError"  # kept until the next attempt
    entry = audit_entries(session, "notice", str(notice.id))[-1]
    assert entry.action == "notice.retry"
    assert entry.detail["attempts_before"] == 8
    assert EMAIL not in str(entry.detail)
    with pytest.raises(NoticeConflictError):
        retry_notice(session, Actor.system(), notice.id)  # pending now
    with pytest.raises(NoticeNotFoundError):
        retry_notice(session, Actor.system(), 999_999)
    shop = make_user(session, "enterprise", uscc=USCCS[0])
    with pytest.raises(NoticeForbiddenError):
        retry_notice(session, actor_for_user(shop), notice.id)


def test_retry_all_requeues_every_dead_notice(session: Session) -> None:
    dead = [make_notice(session) for _ in range(3)]
    for notice in dead[:2]:
        notice.status, notice.attempts = "dead", 8
    session.flush()
    assert retry_dead(session, Actor.system()) == 2
    session.expire_all()
    assert {n.status for n in session.scalars(select(Notice))} == {"pending"}
    assert audit_entries(session, "notice", "*")[-1].detail == {"count": 2}
