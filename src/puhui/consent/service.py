"""Consent: grant, revoke, list (narrowed for the actor) and check.

A business grants a bank the right to read its data of one scope (``profile`` today;
``application`` and others later) for 1 to 365 days; it, or an operator acting for it, may
revoke it at any time. Every grant and revoke is written to the audit log in the caller's
transaction. Services flush, never commit.

Who sees which consents is decided in :func:`visible_consents`, once: a business its own,
a bank user (or the bank's system, or its customer manager) its bank's, an operator all,
anyone else none.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.orm import Session

from puhui.accounts.actor import ROLES_WITH_BANK, Actor, Role
from puhui.accounts.service import get_bank, record, utcnow
from puhui.consent.models import Consent
from puhui.errors import PuhuiError
from puhui.identifiers import is_valid_uscc
from puhui.pagination import PageRequest, PageResult, paginate

#: The scopes a consent may have. Keep each a short word: it is stored as text.
SCOPE_PROFILE = "profile"
SCOPES: tuple[str, ...] = (SCOPE_PROFILE,)
MIN_DAYS = 1
MAX_DAYS = 365
MAX_NOTE = 500

Status = Literal["live", "expired", "revoked"]


class ConsentError(PuhuiError):
    """A consent request that cannot be done as asked (HTTP 400)."""

    http_status = 400


class ConsentForbiddenError(ConsentError):
    """The actor may not do this with consents (HTTP 403)."""

    http_status = 403


class ConsentNotFoundError(ConsentError):
    """No such consent, or none the actor may see (HTTP 404)."""

    http_status = 404


class ConsentConflictError(ConsentError):
    """The consent is already revoked (HTTP 409)."""

    http_status = 409


def status_of(consent: Consent, at: datetime | None = None) -> Status:
    """``revoked`` once revoked, else ``expired`` from ``expires_at`` on, else ``live``."""
    at = at or utcnow()
    if consent.revoked_at is not None and consent.revoked_at <= at:
        return "revoked"
    if consent.expires_at <= at:
        return "expired"
    return "live"


def visible_consents(actor: Actor) -> Select[Consent]:
    """The one place that decides which consents an actor may see, newest first then by id.

    A business sees its own; a bank user, the bank's system and the bank's customer
    managers see their bank's; an operator (a person or the platform) sees all; anyone
    else (government, a business without a uscc, a bank role without a bank) none.
    """
    statement = select(Consent).order_by(Consent.id.desc())
    if actor.role is Role.OPERATOR and actor.kind != "client":
        return statement
    if actor.role is Role.ENTERPRISE and actor.uscc:
        return statement.where(Consent.uscc == actor.uscc)
    if actor.role in ROLES_WITH_BANK and actor.bank_code:
        return statement.where(Consent.bank_code == actor.bank_code)
    return statement.where(false())


def list_for(
    session: Session,
    actor: Actor,
    page: PageRequest | None = None,
    *,
    live_only: bool = False,
    at: datetime | None = None,
) -> PageResult[Consent]:
    """The consents ``actor`` may see, one page at a time; ``live_only`` drops expired and
    revoked ones."""
    statement = visible_consents(actor)
    if live_only:
        statement = statement.where(*_live(at or utcnow()))
    return paginate(session, statement, page or PageRequest())


def _live(at: datetime) -> tuple[ColumnElement[bool], ...]:
    return (
        Consent.granted_at <= at,
        Consent.expires_at > at,
        or_(Consent.revoked_at.is_(None), Consent.revoked_at > at),
    )


def live_consent(
    session: Session,
    bank_code: str,
    uscc: str,
    scope: str = SCOPE_PROFILE,
    at: datetime | None = None,
) -> Consent | None:
    """The live consent (the latest to expire) of ``uscc`` for ``bank_code`` and ``scope``
    at ``at`` (default now), or None."""
    return session.scalar(
        select(Consent)
        .where(
            Consent.bank_code == bank_code,
            Consent.uscc == uscc,
            Consent.scope == scope,
            *_live(at or utcnow()),
        )
        .order_by(Consent.expires_at.desc(), Consent.id.desc())
        .limit(1)
    )


def has_consent(
    session: Session,
    bank_code: str,
    uscc: str,
    scope: str = SCOPE_PROFILE,
    at: datetime | None = None,
) -> bool:
    """Whether ``uscc`` lets ``bank_code`` read ``scope`` at ``at`` (default now)."""
    return live_consent(session, bank_code, uscc, scope, at) is not None


def grant(
    session: Session,
    actor: Actor,
    bank_code: str,
    days: int,
    scope: str = SCOPE_PROFILE,
    *,
    uscc: str | None = None,
    note: str = "",
) -> Consent:
    """A business lets ``bank_code`` read its ``scope`` for ``days`` days from now.

    An enterprise user grants for its own uscc only (``uscc`` may be left out); an
    operator acts for the business named by ``uscc``. Anyone else is refused (403).
    """
    if actor.role is Role.ENTERPRISE and actor.kind == "user" and actor.uscc:
        if uscc is not None and uscc.strip().upper() != actor.uscc:
            raise ConsentForbiddenError(
                "企业用户只能为本企业授权", "a business may grant consent for itself only"
            )
        uscc = actor.uscc
    elif actor.role is Role.OPERATOR and actor.kind != "client":
        if not uscc:
            raise ConsentError(
                "代企业授权须指定统一社会信用代码", "name the business (uscc) to grant for"
            )
        uscc = uscc.strip().upper()
    else:
        raise ConsentForbiddenError(
            "只有企业本人或平台运营人员可以授权",
            "only the business itself or a platform operator may grant consent",
        )
    if not is_valid_uscc(uscc):
        raise ConsentError(
            f"统一社会信用代码 {uscc} 无效", f"{uscc} is not a valid unified social credit code"
        )
    if scope not in SCOPES:
        names = ", ".join(SCOPES)
        raise ConsentError(
            f"授权范围 {scope!r} 无效，可选：{names}",
            f"scope {scope!r} is invalid; one of: {names}",
        )
    if isinstance(days, bool) or not MIN_DAYS <= days <= MAX_DAYS:
        raise ConsentError(
            f"授权期限须为 {MIN_DAYS} 至 {MAX_DAYS} 天",
            f"a consent lasts {MIN_DAYS} to {MAX_DAYS} days",
        )
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise ConsentError(
            f"备注最多 {MAX_NOTE} 个字符", f"a note has at most {MAX_NOTE} characters"
        )
    if get_bank(session, bank_code) is None:
        raise ConsentNotFoundError(
            f"没有代码为 {bank_code} 的银行", f"no bank with code {bank_code}"
        )
    now = utcnow()
    consent = Consent(
        uscc=uscc,
        bank_code=bank_code,
        scope=scope,
        granted_at=now,
        expires_at=now + timedelta(days=days),
        revoked_at=None,
        granted_by=actor.user_id,
        note=note,
    )
    session.add(consent)
    session.flush()
    record(
        session,
        actor,
        "consent.grant",
        "consent",
        consent.id,
        {
            "uscc": uscc,
            "bank": bank_code,
            "scope": scope,
            "days": days,
            "expires_at": consent.expires_at.isoformat(timespec="seconds"),
        },
    )
    return consent


def get_consent(session: Session, actor: Actor, consent_id: int) -> Consent:
    """One consent the actor may see; 404 for any other (one that exists is not revealed)."""
    consent = session.scalar(visible_consents(actor).where(Consent.id == consent_id))
    if consent is None:
        raise ConsentNotFoundError(
            f"没有编号为 {consent_id} 的授权", f"no consent with id {consent_id}"
        )
    return consent


def revoke(session: Session, actor: Actor, consent_id: int) -> Consent:
    """Take a consent back, from now on. The business that granted it or an operator may;
    a bank that holds it sees it but may not revoke it (403); anyone else finds nothing
    (404). Revoking twice is a conflict (409)."""
    consent = get_consent(session, actor, consent_id)
    if not (actor.role is Role.ENTERPRISE or (actor.is_operator and actor.kind != "client")):
        raise ConsentForbiddenError(
            "只有授权企业或平台运营人员可以撤销授权",
            "only the business that granted it or a platform operator may revoke a consent",
        )
    if consent.revoked_at is not None:
        raise ConsentConflictError(
            f"授权 {consent_id} 已撤销", f"consent {consent_id} is revoked already"
        )
    consent.revoked_at = utcnow()
    session.flush()
    record(
        session,
        actor,
        "consent.revoke",
        "consent",
        consent.id,
        {"uscc": consent.uscc, "bank": consent.bank_code, "scope": consent.scope},
    )
    return consent
