"""App-database tables of the accounts domain.

Times are naive UTC (as everywhere in the app database). Secrets are never stored: passwords
and client secrets as argon2id hashes, tokens as the SHA-256 of a random value.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from puhui.db import Base


class Bank(Base):
    """A lending institution; every bank user and API client belongs to exactly one."""

    __tablename__ = "banks"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class User(Base):
    """A person who signs in. ``bank_code`` is set exactly for bank roles and customer
    managers; ``uscc`` is set for an enterprise (the business it speaks for)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    bank_code: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("banks.code"), index=True, default=None
    )
    uscc: Mapped[str | None] = mapped_column(String(18), index=True, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ApiClient(Base):
    """A bank's system that calls the API with the OAuth2 client-credentials grant."""

    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    bank_code: Mapped[str] = mapped_column(String(32), ForeignKey("banks.code"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ApiToken(Base):
    """An opaque bearer token (``purpose`` api) or a page session (``purpose`` session).

    Only the SHA-256 of the token is kept, so a copy of the database lets no one in. A token
    belongs to a user or to an API client; revoking sets ``revoked_at``.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))  # api | session
    user_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("users.id"), index=True, default=None
    )
    client_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("api_clients.client_id"), index=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class AuditEntry(Base):
    """One thing an actor did (or read) on someone's behalf, written in the same transaction.

    The log is a hash chain (:mod:`puhui.accounts.chain`): ``seq`` numbers the entries
    1, 2, 3, … without gaps, ``prev_hash`` is the previous entry's ``entry_hash`` and
    ``entry_hash`` the SHA-256 of this entry's columns (all but ``id``) and ``prev_hash``.
    A row written with the chain *deferred* (web requests on PostgreSQL) has none of the
    three until the chainer links it, moments after its transaction commits.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_object", "object_type", "object_id"),
        Index("uq_audit_log_seq", "seq", unique=True),
        # The rows still waiting to be chained: few, found without a scan.
        Index(
            "ix_audit_log_unchained",
            "id",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(32))
    actor_bank: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    seq: Mapped[int | None] = mapped_column(Integer, default=None)
    prev_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    entry_hash: Mapped[str | None] = mapped_column(String(64), default=None)


class ChainHead(Base):
    """The last entry of each hash chain (``audit``, ``consent``): its ``seq`` and hash.

    Appending locks the chain's row (see :mod:`puhui.accounts.chain`), which serialises
    writers; verifying compares it with the chain's last entry, which shows entries cut off
    the end.
    """

    __tablename__ = "chain_heads"

    chain: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
