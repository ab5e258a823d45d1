"""The token cache: a verified token is kept for a bounded time, never past its expiry, and
dropped at once when it ends — in this process, and (on PostgreSQL) in every other."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from puhui.accounts import tokens
from puhui.accounts.actor import Actor, Role
from puhui.accounts.service import (
    issue_token,
    resolve_token_until,
    revoke_token,
    set_user_active,
    token_hash,
    utcnow,
)
from puhui.accounts.tokens import TokenCache, token_ended
from puhui.web.deps import hot_path
from tests.accounts.factories import make_bank, make_client, make_user
from tests.web.conftest import app, bank_client, client, people  # noqa: F401  (fixtures)

ACTOR = Actor(kind="client", id="c-1", role=Role.BANK_SYSTEM, bank_code="BANKA")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_kept_for_at_most_max_age_and_never_past_its_expiry() -> None:
    clock = Clock()
    cache = TokenCache(10.0, clock=clock)
    now = utcnow()
    cache.put("a", "api", ACTOR, now + timedelta(hours=1), now, cache.generation)
    cache.put("b", "api", ACTOR, now + timedelta(seconds=3), now, cache.generation)
    cache.put("gone", "api", ACTOR, now - timedelta(seconds=1), now, cache.generation)
    assert cache.get("a", "api") == ACTOR
    assert cache.get("a", "session") is None  # a token serves one purpose only
    assert cache.get("gone", "api") is None
    clock.now += 3.5
    assert cache.get("b", "api") is None  # expired
    assert cache.get("a", "api") == ACTOR
    clock.now += 7
    assert cache.get("a", "api") is None  # max_age reached: read from the database again


def test_nothing_is_kept_when_the_cache_is_off() -> None:
    cache = TokenCache(0.0)
    now = utcnow()
    cache.put("a", "api", ACTOR, now + timedelta(hours=1), now, cache.generation)
    assert cache.get("a", "api") is None


def test_a_read_that_started_before_an_ending_is_not_kept() -> None:
    cache = TokenCache(10.0)
    now = utcnow()
    generation = cache.generation
    cache.forget(token_hash="a")  # the token ended while it was being read
    cache.put("a", "api", ACTOR, now + timedelta(hours=1), now, generation)
    assert cache.get("a", "api") is None


def test_revoking_and_disabling_drop_tokens_from_every_cache(session: Session) -> None:
    make_bank(session, "BANKA", "甲银行")
    user = make_user(session, "bank_officer", bank="BANKA")
    other = make_user(session, "bank_officer", bank="BANKA")
    caches = [TokenCache(60.0), TokenCache(60.0)]
    issued = {}
    for subject in (user, other):
        value = issue_token(session, subject, timedelta(hours=1)).value
        found = resolve_token_until(session, value)
        assert found is not None
        for cache in caches:
            cache.put(token_hash(value), "api", found[0], found[1], utcnow(), cache.generation)
        issued[subject.id] = value
    assert revoke_token(session, issued[user.id])
    assert all(c.get(token_hash(issued[user.id]), "api") is None for c in caches)
    assert all(c.get(token_hash(issued[other.id]), "api") is not None for c in caches)
    set_user_active(session, Actor.system("test"), other.id, False)
    assert all(c.get(token_hash(issued[other.id]), "api") is None for c in caches)


def test_one_statement_resolves_users_and_clients(session: Session) -> None:
    make_bank(session, "BANKA", "甲银行")
    made = make_client(session, "BANKA")
    value = issue_token(session, made.client, timedelta(minutes=5)).value
    found = resolve_token_until(session, value)
    assert found is not None
    actor, expires_at = found
    assert (actor.kind, actor.id, actor.role, actor.bank_code) == (
        "client", made.client.client_id, Role.BANK_SYSTEM, "BANKA"
    )  # fmt: skip
    assert expires_at > utcnow()
    assert resolve_token_until(session, value, purpose="session") is None
    made.client.active = False
    session.flush()
    assert resolve_token_until(session, value) is None


def test_the_api_reads_a_token_once_and_refuses_it_once_revoked(
    app: FastAPI,  # noqa: F811
    client: TestClient,  # noqa: F811
    session: Session,
    bank_client: tuple[str, str],  # noqa: F811
) -> None:
    client_id, secret = bank_client
    done = client.post(
        "/api/v1/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert done.status_code == 200, done.text
    value = done.json()["access_token"]
    headers = {"Authorization": f"Bearer {value}"}
    cache = hot_path(app).tokens
    for _ in range(3):
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    if session.get_bind().dialect.name != "postgresql":  # on PostgreSQL: once listening
        assert cache.get(token_hash(value), "api") is not None
    revoke_token(session, value)
    answer = client.get("/api/v1/me", headers=headers)
    assert answer.status_code == 401, answer.text


@pytest.mark.postgres
def test_other_workers_forget_a_token_when_its_ending_commits(db_engine: Engine) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("notifications are PostgreSQL's")
    cache = TokenCache(60.0)
    cache.listen(db_engine)
    deadline = time.monotonic() + 10
    now = utcnow()
    while cache.get("h", "api") is None and time.monotonic() < deadline:
        # Kept only once the listener is connected.
        cache.put("h", "api", ACTOR, now + timedelta(hours=1), now, cache.generation)
        time.sleep(0.02)
    assert cache.get("h", "api") == ACTOR
    tokens._CACHES.discard(cache)  # as if in another process: only the notification reaches it
    with Session(db_engine) as other:
        token_ended(other, "h")
        other.rollback()  # not delivered: the ending did not commit
    time.sleep(0.2)
    assert cache.get("h", "api") == ACTOR
    with Session(db_engine) as other:
        token_ended(other, "h")
        other.commit()
    deadline = time.monotonic() + 10
    while cache.get("h", "api") is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert cache.get("h", "api") is None
