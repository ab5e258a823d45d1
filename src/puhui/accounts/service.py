"""Accounts: create banks, users and API clients; check credentials; issue and resolve tokens;
narrow user lists by actor; write the audit log.

Services flush, never commit: the request or the CLI command commits once, so a change and
its audit row land together or not at all. Messages for people are Chinese then English
(:class:`~puhui.errors.PuhuiError`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Select, false, inspect, select, update
from sqlalchemy.orm import Session

from puhui.accounts.actor import ROLES_WITH_BANK, USER_ROLES, Actor, Role
from puhui.accounts.chain import AUDIT, WROTE_WAITING, append, as_json, is_deferred
from puhui.accounts.models import ApiClient, ApiToken, AuditEntry, Bank, ChainHead, User
from puhui.accounts.tokens import token_ended, user_ended
from puhui.errors import PuhuiError
from puhui.identifiers import is_valid_uscc
from puhui.pagination import PageRequest, PageResult, paginate

TokenPurpose = Literal["api", "session"]

#: argon2id with the library's defaults (RFC 9106 "second recommended" profile).
_hasher = PasswordHasher()
#: Verified against when a username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("puhui-no-such-user")

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{2,63}$")
BANK_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 takes any length; a cap keeps hashing cheap to refuse


class AccountError(PuhuiError):
    """A request about accounts that cannot be done as asked (HTTP 400)."""

    http_status = 400


class NotFoundError(AccountError):
    http_status = 404


class ConflictError(AccountError):
    """The thing exists already (HTTP 409)."""

    http_status = 409


def utcnow() -> datetime:
    """Naive UTC, as every time in the app database."""
    return datetime.now(UTC).replace(tzinfo=None)


def require_schema(session: Session) -> None:
    """Refuse clearly when the app database predates the accounts tables or the audit
    chain (``record`` needs ``chain_heads``)."""
    inspector = inspect(session.connection())
    if not all(inspector.has_table(t) for t in (User.__tablename__, ChainHead.__tablename__)):
        raise PuhuiError(
            "应用数据库尚未升级，请先运行 puhui db upgrade",
            "the app database is not migrated yet: run puhui db upgrade first",
        )


# --------------------------------------------------------------------------- passwords


def hash_secret(secret: str) -> str:
    """An argon2id hash (salted, with its parameters) of a password or client secret."""
    return _hasher.hash(secret)


def verify_secret(stored_hash: str, secret: str) -> bool:
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(
            f"密码长度须为 {MIN_PASSWORD} 至 {MAX_PASSWORD} 个字符",
            f"a password needs {MIN_PASSWORD} to {MAX_PASSWORD} characters",
        )


# --------------------------------------------------------------------------- audit


def record(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Write one audit row in the caller's transaction.

    ``action`` is a dotted verb (``user.create``, ``profile.read``); ``detail`` is small JSON
    (never a secret, never a clear person id). Call it from the service that does the thing,
    so the change and its audit row are one transaction.

    The row is chained (:mod:`puhui.accounts.chain`): it gets the next ``seq`` and its hash,
    and the audit chain stays locked until the caller's transaction ends, so keep
    transactions that write audit rows short. In a session whose chain is deferred (web
    requests on PostgreSQL) the row is only added — no lock, no round trip of its own —
    and chained right after the transaction commits.
    """
    entry = AuditEntry(**audit_values(actor, action, object_type, object_id, detail))
    if is_deferred(session):
        session.add(entry)  # inserted with the transaction's next flush
        session.info[WROTE_WAITING] = True
    else:
        append(session, AUDIT, entry)
    return entry


def audit_values(
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of a new audit row, chain columns left out (for :func:`record`, and for
    a service that inserts its row with Core in the same statement as its change)."""
    return {
        "at": utcnow(),
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "actor_role": str(actor.role),
        "actor_bank": actor.bank_code,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "detail": as_json(detail or {}),
    }


def audit_entries(
    session: Session, object_type: str | None = None, object_id: str | None = None
) -> list[AuditEntry]:
    """Audit rows, oldest first, optionally of one object."""
    statement = select(AuditEntry).order_by(AuditEntry.id)
    if object_type is not None:
        statement = statement.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        statement = statement.where(AuditEntry.object_id == object_id)
    return list(session.scalars(statement))


# --------------------------------------------------------------------------- banks


def create_bank(session: Session, actor: Actor, code: str, name: str) -> Bank:
    if not BANK_CODE.match(code):
        raise AccountError(
            f"银行代码 {code!r} 无效：2 至 32 个字母、数字、- 或 _",
            f"bank code {code!r} is invalid: 2 to 32 letters, digits, - or _",
        )
    name = name.strip()
    if not name or len(name) > 200:
        raise AccountError("银行名称须为 1 至 200 个字符", "a bank name needs 1 to 200 characters")
    if session.get(Bank, code) is not None:
        raise ConflictError(f"银行 {code} 已存在", f"bank {code} exists already")
    bank = Bank(code=code, name=name, created_at=utcnow())
    session.add(bank)
    session.flush()
    record(session, actor, "bank.create", "bank", code, {"name": name})
    return bank


def get_bank(session: Session, code: str) -> Bank | None:
    return session.get(Bank, code)


def list_banks(session: Session) -> list[Bank]:
    return list(session.scalars(select(Bank).order_by(Bank.code)))


def _require_bank(session: Session, code: str) -> Bank:
    bank = session.get(Bank, code)
    if bank is None:
        raise NotFoundError(
            f"没有代码为 {code} 的银行，请先运行 puhui banks create",
            f"no bank with code {code}: run puhui banks create first",
        )
    return bank


# --------------------------------------------------------------------------- users


def parse_role(role: str) -> Role:
    try:
        parsed = Role(role)
    except ValueError:
        parsed = None
    if parsed is None or parsed not in USER_ROLES:
        names = ", ".join(USER_ROLES)
        raise AccountError(
            f"角色 {role!r} 无效，可选：{names}", f"role {role!r} is invalid; one of: {names}"
        )
    return parsed


def create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: str,
    bank_code: str | None = None,
    uscc: str | None = None,
) -> User:
    """A new active user; the rules of role, bank and uscc are checked here, once.

    Bank roles and customer managers need a bank; other roles may not have one. An
    enterprise needs a valid uscc (the business it speaks for); other roles may not have one.
    """
    parsed = parse_role(role)
    if not USERNAME.match(username):
        raise AccountError(
            f"用户名 {username!r} 无效：3 至 64 个字母、数字或 _.@-，以字母或数字开头",
            f"username {username!r} is invalid: 3 to 64 letters, digits or _.@-, "
            "starting with a letter or digit",
        )
    _check_password(password)
    if parsed in ROLES_WITH_BANK and not bank_code:
        raise AccountError(
            f"角色 {parsed} 须指定所属银行 (--bank)", f"role {parsed} needs a bank (--bank)"
        )
    if parsed not in ROLES_WITH_BANK and bank_code:
        raise AccountError(
            f"角色 {parsed} 不属于任何银行，请去掉 --bank",
            f"role {parsed} belongs to no bank: leave out --bank",
        )
    if parsed is Role.ENTERPRISE:
        if not uscc:
            raise AccountError(
                "企业用户须指定统一社会信用代码 (--uscc)", "an enterprise user needs a --uscc"
            )
        uscc = uscc.strip().upper()
        if not is_valid_uscc(uscc):
            raise AccountError(
                f"统一社会信用代码 {uscc} 无效", f"{uscc} is not a valid unified social credit code"
            )
    elif uscc:
        raise AccountError(
            f"只有企业用户有统一社会信用代码，角色 {parsed} 请去掉 --uscc",
            f"only an enterprise user has a uscc: leave out --uscc for role {parsed}",
        )
    if bank_code:
        _require_bank(session, bank_code)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ConflictError(f"用户名 {username} 已被使用", f"username {username} is taken")
    user = User(
        username=username,
        password_hash=hash_secret(password),
        role=str(parsed),
        bank_code=bank_code or None,
        uscc=uscc or None,
        active=True,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor,
        "user.create",
        "user",
        user.id,
        {"username": username, "role": str(parsed), "bank": bank_code},
    )
    return user


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def actor_for_user(user: User) -> Actor:
    return Actor(
        kind="user",
        id=str(user.id),
        role=Role(user.role),
        bank_code=user.bank_code,
        uscc=user.uscc,
        username=user.username,
    )


def authenticate_user(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None (the same for every failure).

    A hash made with older argon2 parameters is replaced on a successful sign-in.
    """
    user = session.scalar(select(User).where(User.username == username))
    if user is None or len(password) > MAX_PASSWORD:
        verify_secret(_DUMMY_HASH, password[:MAX_PASSWORD])
        return None
    if not verify_secret(user.password_hash, password) or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_secret(password)
        session.flush()
    return user


def set_user_active(session: Session, actor: Actor, user_id: int, active: bool) -> User:
    """Enable or disable a user; disabling also ends their tokens and sessions."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"没有编号为 {user_id} 的用户", f"no user with id {user_id}")
    user.active = active
    if not active:
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        user_ended(session, user_id)
    session.flush()
    record(session, actor, "user.activate" if active else "user.deactivate", "user", user_id)
    return user


def visible_users(actor: Actor) -> Select[User]:
    """The one place that decides which users an actor may see.

    An operator sees everyone; a bank admin the users of their own bank; anyone else only
    themselves; a bank's system (API client) no one. Ordered by id, for stable pages.
    """
    statement = select(User).order_by(User.id)
    if actor.role is Role.OPERATOR and actor.kind != "client":
        return statement
    if actor.role is Role.BANK_ADMIN and actor.bank_code:
        return statement.where(User.bank_code == actor.bank_code)
    if actor.kind == "user" and actor.user_id is not None:
        return statement.where(User.id == actor.user_id)
    return statement.where(false())


def list_users(session: Session, actor: Actor, page: PageRequest) -> PageResult[User]:
    return paginate(session, visible_users(actor), page)


# --------------------------------------------------------------------------- API clients


@dataclass(frozen=True)
class NewClient:
    """A client just created: the secret is here once and never again."""

    client: ApiClient
    secret: str


def create_client(session: Session, actor: Actor, bank_code: str, name: str) -> NewClient:
    _require_bank(session, bank_code)
    name = name.strip()
    if not name or len(name) > 200:
        raise AccountError(
            "客户端名称须为 1 至 200 个字符", "a client name needs 1 to 200 characters"
        )
    secret = secrets.token_urlsafe(32)
    client = ApiClient(
        client_id=f"{bank_code.lower()}-{secrets.token_hex(8)}",
        secret_hash=hash_secret(secret),
        bank_code=bank_code,
        name=name,
        active=True,
        created_at=utcnow(),
    )
    session.add(client)
    session.flush()
    record(session, actor, "client.create", "api_client", client.client_id, {"name": name})
    return NewClient(client, secret)


def list_clients(session: Session, bank_code: str | None = None) -> list[ApiClient]:
    statement = select(ApiClient).order_by(ApiClient.client_id)
    if bank_code is not None:
        statement = statement.where(ApiClient.bank_code == bank_code)
    return list(session.scalars(statement))


def authenticate_client(session: Session, client_id: str, secret: str) -> ApiClient | None:
    client = session.get(ApiClient, client_id)
    if client is None or len(secret) > MAX_PASSWORD:
        verify_secret(_DUMMY_HASH, secret[:MAX_PASSWORD])
        return None
    if not verify_secret(client.secret_hash, secret) or not client.active:
        return None
    return client


def actor_for_client(client: ApiClient) -> Actor:
    return Actor(
        kind="client", id=client.client_id, role=Role.BANK_SYSTEM, bank_code=client.bank_code
    )


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class IssuedToken:
    """A token as handed out: ``value`` is shown once; only its hash is stored."""

    value: str
    expires_at: datetime
    expires_in: int  # seconds


def _token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def issue_token(
    session: Session,
    subject: User | ApiClient,
    ttl: timedelta,
    purpose: TokenPurpose = "api",
    now: datetime | None = None,
) -> IssuedToken:
    """A new random token for a user or a client, valid for ``ttl``."""
    now = now or utcnow()
    value = secrets.token_urlsafe(32)
    token = ApiToken(
        token_hash=_token_hash(value),
        purpose=purpose,
        user_id=subject.id if isinstance(subject, User) else None,
        client_id=subject.client_id if isinstance(subject, ApiClient) else None,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(token)
    session.flush()
    return IssuedToken(value, token.expires_at, int(ttl.total_seconds()))


def token_hash(value: str) -> str:
    """The SHA-256 (hex) under which a token is stored and cached."""
    return _token_hash(value)


def resolve_token(
    session: Session, value: str, purpose: TokenPurpose = "api", now: datetime | None = None
) -> Actor | None:
    """The actor a live token stands for, or None (unknown, expired, revoked, other purpose,
    or its user or client disabled). Role and bank are read now, so changes apply at once."""
    found = resolve_token_until(session, value, purpose, now)
    return found[0] if found is not None else None


def resolve_token_until(
    session: Session, value: str, purpose: TokenPurpose = "api", now: datetime | None = None
) -> tuple[Actor, datetime] | None:
    """:func:`resolve_token` and the token's expiry, in one statement (the token with its
    user or client joined)."""
    now = now or utcnow()
    row = session.execute(
        select(
            ApiToken.expires_at,
            ApiToken.user_id,
            ApiToken.client_id,
            User.role,
            User.bank_code,
            User.uscc,
            User.username,
            User.active.label("user_active"),
            ApiClient.bank_code.label("client_bank"),
            ApiClient.active.label("client_active"),
        )
        .outerjoin(User, User.id == ApiToken.user_id)
        .outerjoin(ApiClient, ApiClient.client_id == ApiToken.client_id)
        .where(
            ApiToken.token_hash == _token_hash(value),
            ApiToken.purpose == purpose,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
        )
    ).first()
    if row is None:
        return None
    if row.user_id is not None:
        if not row.user_active:
            return None
        actor = Actor(
            kind="user",
            id=str(row.user_id),
            role=Role(row.role),
            bank_code=row.bank_code,
            uscc=row.uscc,
            username=row.username,
        )
    elif row.client_id is not None and row.client_active:
        actor = Actor(
            kind="client", id=row.client_id, role=Role.BANK_SYSTEM, bank_code=row.client_bank
        )
    else:
        return None
    return actor, row.expires_at


def revoke_token(session: Session, value: str) -> bool:
    """Revoke one token; whether there was a live one. Every worker forgets it at once
    (:mod:`puhui.accounts.tokens`)."""
    hashed = _token_hash(value)
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == hashed, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    token_ended(session, hashed)
    session.flush()
    return bool(getattr(result, "rowcount", 0))
