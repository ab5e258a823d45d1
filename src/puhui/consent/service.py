"""Consent: grant, revoke, list (narrowed for the actor) and check.

A business grants a bank the right to read its data of one scope (``profile`` today;
``application`` and others later) for 1 to 365 days — for a profile, the sections it names
(all by default); it, or an operator acting for it, may revoke it at any time. Every grant
and revoke is written, in the caller's transaction, three times over: to the ``consents``
projection, as an entry of the hash-chained consent ledger
(:mod:`puhui.consent.ledger`), and to the audit log. Services flush, never commit.

Who sees which consents is decided in :func:`visible_consents`, once: a business its own,
a bank user (or the bank's system, or its customer manager) its bank's, an operator all,
anyone else none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, DateTime, Select, bindparam, false, or_, select
from sqlalchemy.orm import Session

from puhui.accounts.actor import ROLES_WITH_BANK, Actor, Role
from puhui.accounts.service import get_bank, record, utcnow
from puhui.consent.ledger import append_event, entries_of
from puhui.consent.models import Consent, ConsentLedgerEntry
from puhui.errors import PuhuiError
from puhui.features.profile import PROFILE_SECTIONS
from puhui.identifiers import is_valid_uscc
from puhui.pagination import PageRequest, PageResult, paginate

#: The scopes a consent may have. Keep each a short word: it is stored as text.
SCOPE_PROFILE = "profile"
SCOPES: tuple[str, ...] = (SCOPE_PROFILE,)
MIN_DAYS = 1
MAX_DAYS = 365
MAX_NOTE = 500
MAX_APPLICATION = 32

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


def parse_sections(sections: Iterable[str] | str | None) -> tuple[str, ...]:
    """The profile sections a consent names, checked, in :data:`PROFILE_SECTIONS` order.

    None means every section; a string may list them separated by commas. Case and spaces
    around a name do not matter; a name twice counts once. An unknown name or an empty list
    is a :class:`ConsentError` that names the field and the valid sections.
    """
    if sections is None:
        return PROFILE_SECTIONS
    names = sections.split(",") if isinstance(sections, str) else list(sections)
    wanted = {str(name).strip().lower() for name in names} - {""}
    valid = ", ".join(PROFILE_SECTIONS)
    unknown = sorted(wanted - set(PROFILE_SECTIONS))
    if unknown:
        shown = ", ".join(unknown)
        raise ConsentError(
            f"授权的画像板块 (sections) 无效：{shown}；可选：{valid}",
            f"sections: {shown} is not a profile section; choose from: {valid}",
        )
    if not wanted:
        raise ConsentError(
            f"请至少选择一个画像板块 (sections)，可选：{valid}",
            f"sections: choose at least one profile section from: {valid}",
        )
    return tuple(name for name in PROFILE_SECTIONS if name in wanted)


def union_sections(consents: Sequence[Consent]) -> tuple[str, ...]:
    """Every section any of ``consents`` allows, in :data:`PROFILE_SECTIONS` order."""
    allowed = {name for consent in consents for name in consent.section_list}
    return tuple(name for name in PROFILE_SECTIONS if name in allowed)


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


def _live(at: datetime | ColumnElement[datetime]) -> tuple[ColumnElement[bool], ...]:
    return (
        Consent.granted_at <= at,
        Consent.expires_at > at,
        or_(Consent.revoked_at.is_(None), Consent.revoked_at > at),
    )


def live_consents(
    session: Session,
    bank_code: str,
    uscc: str,
    scope: str = SCOPE_PROFILE,
    at: datetime | None = None,
) -> list[Consent]:
    """Every live consent of ``uscc`` for ``bank_code`` and ``scope`` at ``at`` (default
    now), the latest to expire first (then the newest). Each one allows its own sections; a
    read may use them all."""
    return list(
        session.scalars(
            select(Consent)
            .where(
                Consent.bank_code == bank_code,
                Consent.uscc == uscc,
                Consent.scope == scope,
                *_live(at or utcnow()),
            )
            .order_by(Consent.expires_at.desc(), Consent.id.desc())
        )
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


#: :func:`has_consent`'s query, built once (it runs on every real-time decision): one
#: indexed row's id, no ORM object.
_ANY_LIVE = (
    select(Consent.id)
    .where(
        Consent.bank_code == bindparam("bank_code"),
        Consent.uscc == bindparam("uscc"),
        Consent.scope == bindparam("scope"),
        *_live(bindparam("at", type_=DateTime())),
    )
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
    values = {"bank_code": bank_code, "uscc": uscc, "scope": scope, "at": at or utcnow()}
    return session.execute(_ANY_LIVE, values).first() is not None


def grant(
    session: Session,
    actor: Actor,
    bank_code: str,
    days: int,
    scope: str = SCOPE_PROFILE,
    *,
    uscc: str | None = None,
    note: str = "",
    sections: Iterable[str] | str | None = None,
    application: str | None = None,
) -> Consent:
    """A business lets ``bank_code`` read its ``scope`` for ``days`` days from now.

    An enterprise user grants for its own uscc only (``uscc`` may be left out); an
    operator acts for the business named by ``uscc``. Anyone else is refused (403).
    ``sections`` are the profile sections the bank may read (default: all; see
    :func:`parse_sections`); ``application`` the number of the application the consent is
    given for, kept in the ledger. The consent, its ledger entry and its audit row are
    written together.
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
    allowed = parse_sections(sections)
    note = _checked_note(note)
    if application is not None:
        application = application.strip() or None
    if application is not None and len(application) > MAX_APPLICATION:
        raise ConsentError(
            f"申请编号 (application) 最多 {MAX_APPLICATION} 个字符",
            f"application: a number has at most {MAX_APPLICATION} characters",
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
        sections=",".join(allowed),
    )
    session.add(consent)
    session.flush()
    entry = append_event(session, actor, consent, "grant", now, application=application, note=note)
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
            "sections": list(allowed),
            "expires_at": consent.expires_at.isoformat(timespec="seconds"),
            "ledger_seq": entry.seq,
        },
    )
    return consent


def _checked_note(note: str) -> str:
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise ConsentError(
            f"备注 (note) 最多 {MAX_NOTE} 个字符", f"note: at most {MAX_NOTE} characters"
        )
    return note


def get_consent(session: Session, actor: Actor, consent_id: int) -> Consent:
    """One consent the actor may see; 404 for any other (one that exists is not revealed)."""
    consent = session.scalar(visible_consents(actor).where(Consent.id == consent_id))
    if consent is None:
        raise ConsentNotFoundError(
            f"没有编号为 {consent_id} 的授权", f"no consent with id {consent_id}"
        )
    return consent


def consent_history(
    session: Session, actor: Actor, consent_id: int
) -> tuple[Consent, list[ConsentLedgerEntry]]:
    """One consent the actor may see (404 otherwise) and its ledger entries, oldest first."""
    consent = get_consent(session, actor, consent_id)
    return consent, entries_of(session, consent.id)


def revoke(session: Session, actor: Actor, consent_id: int, *, note: str = "") -> Consent:
    """Take a consent back, from now on. The business that granted it or an operator may;
    a bank that holds it sees it but may not revoke it (403); anyone else finds nothing
    (404). Revoking twice is a conflict (409). ``note`` (why) goes to the ledger entry."""
    note = _checked_note(note)
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
    now = utcnow()
    consent.revoked_at = now
    session.flush()
    entry = append_event(session, actor, consent, "revoke", now, note=note)
    record(
        session,
        actor,
        "consent.revoke",
        "consent",
        consent.id,
        {
            "uscc": consent.uscc,
            "bank": consent.bank_code,
            "scope": consent.scope,
            "ledger_seq": entry.seq,
        },
    )
    return consent
