"""Accounts as the platform relies on them: role rules, argon2, tokens, audit, narrowing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from puhui.accounts import service
from puhui.accounts.actor import Actor, Role
from puhui.accounts.models import ApiToken
from puhui.accounts.service import (
    AccountError,
    ConflictError,
    NotFoundError,
    actor_for_user,
    audit_entries,
    authenticate_client,
    authenticate_user,
    issue_token,
    list_users,
    record,
    resolve_token,
    revoke_token,
    set_user_active,
    utcnow,
)
from puhui.pagination import PageRequest
from tests.accounts.factories import PASSWORD, USCCS, make_bank, make_client, make_user


def test_users_of_every_role_follow_the_bank_and_uscc_rules(session: Session) -> None:
    make_bank(session)
    officer = make_user(session, "bank_officer", bank="ZJRCB")
    admin = make_user(session, "bank_admin", bank="ZJRCB")
    manager = make_user(session, "customer_manager", bank="ZJRCB")
    business = make_user(session, "enterprise", uscc=USCCS[0].lower())
    government = make_user(session, "government")
    operator = make_user(session, "operator")
    assert (officer.bank_code, admin.bank_code, manager.bank_code) == ("ZJRCB",) * 3
    assert business.uscc == USCCS[0]  # normalised to capitals
    assert government.bank_code is None
    assert operator.uscc is None
    assert all(u.active for u in (officer, admin, manager, business, government, operator))


@pytest.mark.parametrize(
    ("role", "bank", "uscc", "message"),
    [
        ("king", None, None, "role 'king' is invalid"),
        ("bank_system", "ZJRCB", None, "role 'bank_system' is invalid"),
        ("bank_officer", None, None, "needs a bank"),
        ("customer_manager", None, None, "needs a bank"),
        ("government", "ZJRCB", None, "belongs to no bank"),
        ("enterprise", None, None, "needs a --uscc"),
        ("enterprise", None, "91110000600037341X", "not a valid unified social credit code"),
        ("operator", None, USCCS[0], "only an enterprise user has a uscc"),
        ("bank_admin", "NOPE", None, "no bank with code NOPE"),
    ],
)
def test_wrong_combinations_are_refused_in_both_languages(
    session: Session, role: str, bank: str | None, uscc: str | None, message: str
) -> None:
    make_bank(session)
    with pytest.raises(AccountError) as caught:
        make_user(session, role, bank=bank, uscc=uscc)
    assert message in caught.value.message_en
    assert caught.value.message_zh
    assert caught.value.message_zh != caught.value.message_en


def test_bad_names_passwords_and_duplicates(session: Session) -> None:
    make_bank(session)
    with pytest.raises(AccountError, match="username"):
        make_user(session, username="x")
    with pytest.raises(AccountError, match="password"):
        make_user(session, password="short")
    make_user(session, username="alice")
    with pytest.raises(ConflictError):
        make_user(session, username="alice")
    with pytest.raises(ConflictError):
        make_bank(session)
    with pytest.raises(AccountError, match="bank code"):
        make_bank(session, code="no spaces")
    with pytest.raises(NotFoundError):
        make_client(session, bank="NOPE")


def test_passwords_are_argon2id_and_rehashed_to_current_parameters(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user(session, username="alice")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    weak = user.password_hash  # made with the tests' cheap parameters
    monkeypatch.setattr(service, "_hasher", PasswordHasher())  # the real ones
    assert authenticate_user(session, "alice", "wrong password") is None
    assert user.password_hash == weak
    assert authenticate_user(session, "alice", PASSWORD) is user
    assert user.password_hash != weak
    assert "m=65536" in user.password_hash
    assert authenticate_user(session, "alice", PASSWORD) is user


def test_unknown_and_disabled_users_cannot_sign_in(session: Session) -> None:
    user = make_user(session, username="alice")
    assert authenticate_user(session, "bob", PASSWORD) is None
    assert authenticate_user(session, "alice", "x" * 5000) is None
    set_user_active(session, Actor.system("test"), user.id, False)
    assert authenticate_user(session, "alice", PASSWORD) is None


def test_clients_authenticate_with_their_secret_only(session: Session) -> None:
    make_bank(session)
    created = make_client(session)
    client = created.client
    assert client.client_id.startswith("zjrcb-")
    assert created.secret not in client.secret_hash
    assert authenticate_client(session, client.client_id, created.secret) is client
    assert authenticate_client(session, client.client_id, created.secret + "x") is None
    assert authenticate_client(session, "nobody", created.secret) is None


def test_tokens_resolve_to_their_actor_until_expiry_or_revocation(session: Session) -> None:
    make_bank(session)
    officer = make_user(session, "bank_officer", bank="ZJRCB")
    issued = issue_token(session, officer, timedelta(minutes=5))
    stored = session.query(ApiToken).one()
    assert stored.token_hash != issued.value
    assert len(stored.token_hash) == 64
    actor = resolve_token(session, issued.value)
    assert actor == actor_for_user(officer)
    assert actor is not None
    assert actor.is_bank
    assert actor.bank_code == "ZJRCB"
    assert resolve_token(session, issued.value, purpose="session") is None
    assert resolve_token(session, issued.value, now=utcnow() + timedelta(minutes=6)) is None
    assert resolve_token(session, "not-a-token") is None
    assert revoke_token(session, issued.value)
    assert resolve_token(session, issued.value) is None
    assert not revoke_token(session, issued.value)


def test_client_tokens_act_for_the_bank_and_disabling_a_user_ends_tokens(
    session: Session,
) -> None:
    make_bank(session)
    created = make_client(session)
    actor = resolve_token(session, issue_token(session, created.client, timedelta(hours=1)).value)
    assert actor == Actor(
        kind="client", id=created.client.client_id, role=Role.BANK_SYSTEM, bank_code="ZJRCB"
    )
    user = make_user(session, username="alice")
    value = issue_token(session, user, timedelta(hours=1)).value
    set_user_active(session, Actor.system("test"), user.id, False)
    assert resolve_token(session, value) is None


def test_changes_are_audited_in_the_same_transaction(session: Session) -> None:
    make_bank(session)
    user = make_user(session, "bank_admin", bank="ZJRCB", username="admin1")
    admin = actor_for_user(user)
    entry = record(session, admin, "profile.read", "profile", USCCS[0], {"reason": "review"})
    assert (entry.actor_kind, entry.actor_id, entry.actor_role, entry.actor_bank) == (
        "user",
        str(user.id),
        "bank_admin",
        "ZJRCB",
    )
    actions = [e.action for e in audit_entries(session)]
    assert actions == ["bank.create", "user.create", "profile.read"]
    [read] = audit_entries(session, "profile", USCCS[0])
    assert read.detail == {"reason": "review"}
    created = audit_entries(session, "user", str(user.id))[0]
    assert "password" not in str(created.detail).lower()


def _usernames(session: Session, actor: Actor) -> set[str]:
    return {u.username for u in list_users(session, actor, PageRequest(1, 100)).items}


def test_each_actor_sees_only_the_users_it_may(session: Session) -> None:
    make_bank(session, "BANKA", "A 银行")
    make_bank(session, "BANKB", "B 银行")
    a_admin = make_user(session, "bank_admin", bank="BANKA", username="a-admin")
    make_user(session, "bank_officer", bank="BANKA", username="a-officer")
    make_user(session, "customer_manager", bank="BANKA", username="a-manager")
    b_admin = make_user(session, "bank_admin", bank="BANKB", username="b-admin")
    b_officer = make_user(session, "bank_officer", bank="BANKB", username="b-officer")
    business = make_user(session, "enterprise", uscc=USCCS[1], username="shop")
    operator = make_user(session, "operator", username="ops")
    everyone = {"a-admin", "a-officer", "a-manager", "b-admin", "b-officer", "shop", "ops"}

    assert _usernames(session, actor_for_user(operator)) == everyone
    assert _usernames(session, actor_for_user(a_admin)) == {"a-admin", "a-officer", "a-manager"}
    assert _usernames(session, actor_for_user(b_admin)) == {"b-admin", "b-officer"}
    # The wrong party gets nothing beyond itself.
    assert _usernames(session, actor_for_user(b_officer)) == {"b-officer"}
    assert _usernames(session, actor_for_user(business)) == {"shop"}
    client = make_client(session, "BANKA").client
    assert _usernames(session, service.actor_for_client(client)) == set()
    # A forged actor claiming the operator role through a client is still nothing.
    forged = Actor(kind="client", id="x", role=Role.OPERATOR)
    assert _usernames(session, forged) == set()


def test_user_lists_are_paged(session: Session) -> None:
    for n in range(5):
        make_user(session, username=f"user-{n}")
    operator = Actor.system("test")
    first = list_users(session, operator, PageRequest(1, 2))
    third = list_users(session, operator, PageRequest(3, 2))
    assert (first.total, len(first.items), len(third.items)) == (5, 2, 1)
    assert [u.username for u in first.items] == ["user-0", "user-1"]
    assert list_users(session, operator, PageRequest(4, 2)).items == []
    with pytest.raises(ValueError, match="size"):
        PageRequest(1, 1000)
