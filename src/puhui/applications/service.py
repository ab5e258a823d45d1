"""Loan applications: submit with consent, the open pool (抢单), stage transitions with SLAs,
a notice per stage, the expiry sweep and public tracking.

Who sees which applications is decided in :func:`visible_applications`, once. Which stage
may follow which, and who may make each step, is the one table :data:`TRANSITIONS`; how
long each stage may last is :data:`SLA`. Every stage change writes, in the caller's
transaction: the new status (a conditional UPDATE on the status it had, so two people
acting at once cannot both move it), an ``application_events`` row, an audit row and
exactly one SMS notice in the outbox. Services flush, never commit.

Claiming a pool application is ONE conditional UPDATE (``… WHERE id = :id AND bank_code IS
NULL AND status = 'submitted'``): whatever the concurrency, exactly one bank's UPDATE
matches the row; every other gets rowcount 0 and a 409.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, update
from sqlalchemy.orm import Session

from puhui.accounts.actor import ROLES_WITH_BANK, Actor, Role
from puhui.accounts.service import get_bank, record, utcnow
from puhui.applications.models import Application, ApplicationEvent
from puhui.applications.vocab import (
    ACCEPTED,
    APPROVED,
    CONTRACT_SIGNED,
    DECLINED,
    DISBURSED,
    EXPIRED,
    FINAL_STAGES,
    NOTICE_TEXT,
    PUBLIC_STAGES,
    STAGES,
    SUBMITTED,
    UNDER_REVIEW,
    WITHDRAWN,
)
from puhui.consent import service as consent_service
from puhui.db import MAX_ROW_ID
from puhui.decisions import service as decisions_service
from puhui.decisions.models import Decision
from puhui.decisions.runtime import DecisionRuntime, default_runtime
from puhui.errors import PuhuiError
from puhui.features.profile import PROFILE_SECTIONS
from puhui.identifiers import mask_identifier
from puhui.market import service as market_service
from puhui.market.models import Product
from puhui.market.vocab import PUBLISHED
from puhui.notices.service import queue_notice
from puhui.pagination import PageRequest, PageResult, paginate
from puhui.settings import Settings

FEN = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999999999.99")
MIN_TERM, MAX_TERM = 1, 600
MAX_PURPOSE = 500
MAX_NOTE = 500
DEFAULT_CONSENT_DAYS = 90
#: Ids are 32-bit integers on both databases.
MAX_ID = MAX_ROW_ID

#: Parties to a transition: the owning bank's people and system, the applicant business,
#: the platform's sweep.
BANK = "bank"
APPLICANT = "applicant"
SYSTEM = "system"


@dataclass(frozen=True)
class Sla:
    """How long an application may stay in a stage, and what happens when that passes.

    ``expires``: the sweep (:func:`expire_overdue`) moves an application still in the stage
    after its deadline to ``expired``; otherwise a late next step is only recorded as a
    breach (``application_events.breached``).
    """

    hours: int
    expires: bool
    waits_for: str  # the party that must act next: BANK or APPLICANT


#: The SLA of each stage that is not final (docs/applications.md explains them).
SLA: dict[str, Sla] = {
    SUBMITTED: Sla(24, True, BANK),  # a bank accepts it (or claims it from the pool)
    ACCEPTED: Sla(48, True, BANK),  # the bank starts the review
    UNDER_REVIEW: Sla(72, True, BANK),  # the bank approves or declines
    APPROVED: Sla(720, True, APPLICANT),  # the contract is signed: an offer lasts 30 days
    CONTRACT_SIGNED: Sla(72, False, BANK),  # the bank disburses; a contract never expires
}

#: Every allowed step (from, to) and who may take it. Nothing else is allowed.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (SUBMITTED, ACCEPTED): frozenset({BANK}),
    (SUBMITTED, WITHDRAWN): frozenset({APPLICANT}),
    (SUBMITTED, EXPIRED): frozenset({SYSTEM}),
    (ACCEPTED, UNDER_REVIEW): frozenset({BANK}),
    (ACCEPTED, WITHDRAWN): frozenset({APPLICANT}),
    (ACCEPTED, EXPIRED): frozenset({SYSTEM}),
    (UNDER_REVIEW, APPROVED): frozenset({BANK}),
    (UNDER_REVIEW, DECLINED): frozenset({BANK}),
    (UNDER_REVIEW, WITHDRAWN): frozenset({APPLICANT}),
    (UNDER_REVIEW, EXPIRED): frozenset({SYSTEM}),
    (APPROVED, CONTRACT_SIGNED): frozenset({APPLICANT, BANK}),
    (APPROVED, WITHDRAWN): frozenset({APPLICANT}),
    (APPROVED, EXPIRED): frozenset({SYSTEM}),
    (CONTRACT_SIGNED, DISBURSED): frozenset({BANK}),
    (CONTRACT_SIGNED, WITHDRAWN): frozenset({APPLICANT}),
}

#: Unambiguous characters of application numbers (no 0/O, 1/I/L).
NUMBER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
NUMBER_RANDOM = 8
NUMBER_PATTERN = re.compile(rf"^PH\d{{8}}[{NUMBER_ALPHABET}]{{{NUMBER_RANDOM}}}$")
PHONE_PATTERN = re.compile(r"^1[3-9]\d{9}$")

#: The platform acting in the applications domain: the sweep, the grant at claim time.
SYSTEM_ACTOR = Actor.system("applications")
#: The platform deciding and moving an instant-loan application (秒批) without a person.
DECISIONS_ACTOR = Actor.system("decisions")
#: Decision outcomes (see :mod:`puhui.decisions.engine`).
APPROVE, DECLINE, REFER = "approve", "decline", "refer"
MAX_REASON = 500


class ApplicationError(PuhuiError):
    """A request about an application that cannot be done as asked (HTTP 400)."""

    http_status = 400


class ApplicationForbiddenError(ApplicationError):
    """The actor sees the application but may not do this with it (HTTP 403)."""

    http_status = 403


class ApplicationNotFoundError(ApplicationError):
    """No such application, or none the actor may see (HTTP 404)."""

    http_status = 404


class ApplicationConflictError(ApplicationError):
    """The application is not (or no longer) in a stage that allows this (HTTP 409)."""

    http_status = 409


# --------------------------------------------------------------------------- helpers


def stage_label(stage: str, locale: str = "zh_CN") -> str:
    pair = STAGES.get(stage, (stage, stage))
    return pair[0] if locale == "zh_CN" else pair[1]


def mask_phone(phone: str) -> str:
    """``13812345678`` → ``138****5678``."""
    return mask_identifier(phone, 3, 4)


def is_pool(application: Application) -> bool:
    """In the open pool now: no bank yet and still waiting for one."""
    return application.bank_code is None and application.status == SUBMITTED


def due_after(stage: str, at: datetime) -> datetime | None:
    """The deadline of ``stage`` entered at ``at``; None for a final stage."""
    sla = SLA.get(stage)
    return at + timedelta(hours=sla.hours) if sla is not None else None


def new_number(session: Session, at: datetime) -> str:
    """A fresh public number ``PH`` + yyyymmdd + 8 random characters (31^8 ≈ 8.5e11 per
    day: not guessable); drawn again in the unlikely case it is taken."""
    for _ in range(10):
        suffix = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_RANDOM))
        number = f"PH{at:%Y%m%d}{suffix}"
        if session.scalar(select(Application.id).where(Application.number == number)) is None:
            return number
    raise ApplicationError(
        "无法生成申请编号，请重试", "could not draw an application number; retry"
    )


def normalize_phone(value: str) -> str:
    """A mainland mobile number of 11 digits; spaces, dashes and a +86 prefix are dropped."""
    digits = re.sub(r"[\s\-()]", "", value or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not PHONE_PATTERN.match(digits):
        raise ApplicationError(
            "联系电话须为 11 位手机号码", "contact_phone: enter an 11-digit mobile number"
        )
    return digits


def to_money(value: Any, field: str) -> Decimal:
    """Yuan as a Decimal, half-up to the fen; a clear error naming ``field`` otherwise."""
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        amount = Decimal("NaN")
    if not amount.is_finite():
        raise ApplicationError(f"{field}：请输入金额（元）", f"{field}: enter an amount in yuan")
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def to_rate(value: Any, field: str = "approved_rate") -> Decimal:
    rate = to_money(value, field)
    if not Decimal("0") < rate < Decimal("100"):
        raise ApplicationError(
            f"{field}：年利率须大于 0 且小于 100（%）",
            f"{field}: an annual rate is more than 0 and less than 100 (%)",
        )
    return rate


# --------------------------------------------------------------------------- who sees what


def visible_applications(actor: Actor) -> Select[Application]:
    """The one place that decides which applications an actor may see, newest first.

    A business sees its own (by uscc); a bank's people, system and customer managers see
    their bank's and the open pool; an operator (a person or the platform) sees all;
    anyone else (government, a client without a bank) none.
    """
    statement = select(Application).order_by(Application.id.desc())
    if actor.role is Role.OPERATOR and actor.kind != "client":
        return statement
    if actor.role is Role.ENTERPRISE and actor.uscc:
        return statement.where(Application.uscc == actor.uscc)
    if actor.role in ROLES_WITH_BANK and actor.bank_code:
        return statement.where(or_(Application.bank_code == actor.bank_code, _pool()))
    return statement.where(false())


def referred_condition() -> ColumnElement[bool]:
    """The refer queue: under review with a decision that referred it to a person (a
    person's approval or decline moves it out of ``under_review``, so out of the queue)."""
    referring = select(Decision.id).where(
        Decision.id == Application.decision_id, Decision.outcome == REFER
    )
    return and_(Application.status == UNDER_REVIEW, referring.exists())


def decisions_for(session: Session, applications: Sequence[Application]) -> dict[int, Decision]:
    """The stored decisions of several applications (one query), by application id."""
    ids = {a.decision_id: a.id for a in applications if a.decision_id is not None}
    if not ids:
        return {}
    rows = session.scalars(select(Decision).where(Decision.id.in_(list(ids))))
    return {ids[row.id]: row for row in rows}


def _pool() -> ColumnElement[bool]:
    return and_(Application.bank_code.is_(None), Application.status == SUBMITTED)


def redacted_for(actor: Actor, application: Application) -> bool:
    """Whether ``actor`` sees ``application`` only as a pool listing: a bank (or its
    customer manager) looking at the open pool gets no uscc, phone or consent."""
    return is_pool(application) and actor.role in ROLES_WITH_BANK


def parties(actor: Actor, application: Application) -> frozenset[str]:
    """The parties of :data:`TRANSITIONS` ``actor`` stands for on ``application``."""
    found: set[str] = set()
    if actor.is_bank and actor.bank_code and actor.bank_code == application.bank_code:
        found.add(BANK)
    if actor.role is Role.ENTERPRISE and actor.kind == "user" and actor.uscc == application.uscc:
        found.add(APPLICANT)
    if actor.kind == "system":
        found.add(SYSTEM)
    return frozenset(found)


def next_steps(actor: Actor, application: Application) -> list[str]:
    """The stages ``actor`` may move ``application`` to now (for buttons); claiming a pool
    application is ``accepted`` for a bank."""
    if is_pool(application) and actor.is_bank and actor.bank_code:
        return [ACCEPTED]
    mine = parties(actor, application) - {SYSTEM}
    return [
        to
        for (current, to), who in TRANSITIONS.items()
        if current == application.status and who & mine
    ]


def _not_found(application_id: int | str) -> ApplicationNotFoundError:
    return ApplicationNotFoundError(
        f"没有编号为 {application_id} 的申请", f"no application {application_id}"
    )


def get_application(session: Session, actor: Actor, application_id: int) -> Application:
    """One application ``actor`` may see; 404 for any other (one that exists is not
    revealed: another bank's application is 404, not 403)."""
    found = session.scalar(visible_applications(actor).where(Application.id == application_id))
    if found is None:
        raise _not_found(application_id)
    return found


def list_applications(
    session: Session,
    actor: Actor,
    page: PageRequest | None = None,
    *,
    status: str | None = None,
    pool: bool | None = None,
    referred: bool | None = None,
) -> PageResult[Application]:
    """The applications ``actor`` may see, newest first; ``status`` keeps one stage,
    ``pool`` true only the open pool, false only those with a bank; ``referred`` true only
    the refer queue (:func:`referred_condition`), false all but it."""
    statement = visible_applications(actor)
    if referred is True:
        statement = statement.where(referred_condition())
    elif referred is False:
        statement = statement.where(~referred_condition())
    if status is not None:
        if status not in STAGES:
            raise ApplicationError(f"状态 {status!r} 无效", f"status {status!r} is invalid")
        statement = statement.where(Application.status == status)
    if pool is True:
        statement = statement.where(_pool())
    elif pool is False:
        statement = statement.where(Application.bank_code.is_not(None))
    return paginate(session, statement, page or PageRequest())


def events_of(session: Session, application_id: int) -> list[ApplicationEvent]:
    """The stages an application reached, in order. Callers check visibility first."""
    return list(
        session.scalars(
            select(ApplicationEvent)
            .where(ApplicationEvent.application_id == application_id)
            .order_by(ApplicationEvent.at, ApplicationEvent.id)
        )
    )


def events_for(
    session: Session, application_ids: Sequence[int]
) -> dict[int, list[ApplicationEvent]]:
    """The events of several applications at once (one query), by application id."""
    found: dict[int, list[ApplicationEvent]] = {i: [] for i in application_ids}
    if not application_ids:
        return found
    rows = session.scalars(
        select(ApplicationEvent)
        .where(ApplicationEvent.application_id.in_(list(application_ids)))
        .order_by(ApplicationEvent.at, ApplicationEvent.id)
    )
    for event in rows:
        found[event.application_id].append(event)
    return found


# --------------------------------------------------------------------------- submit


@dataclass(frozen=True)
class ApplicationRequest:
    """An application as checked, before anything is written (the consent screen shows it)."""

    uscc: str
    product: Product | None
    bank_code: str | None
    amount: Decimal
    term_months: int
    purpose: str
    contact_phone: str
    consent_days: int
    sections: tuple[str, ...]


def check_request(
    session: Session,
    actor: Actor,
    product_id: int | None,
    amount: Any,
    term_months: Any,
    purpose: str,
    contact_phone: str,
    consent_days: Any = DEFAULT_CONSENT_DAYS,
    sections: Iterable[str] | None = None,
) -> ApplicationRequest:
    """Check an application without writing anything; each error names its field.

    Only a business's own user applies, for its own uscc. With a product, amount and term
    must be within the product's ranges and the product published.
    """
    if not (actor.role is Role.ENTERPRISE and actor.kind == "user" and actor.uscc):
        raise ApplicationForbiddenError(
            "只有企业用户可以为本企业申请贷款",
            "only a business's own user may apply for a loan, for that business",
        )
    product: Product | None = None
    if product_id is not None:
        try:
            product = market_service.get_product(session, actor, int(product_id))
        except market_service.ProductNotFoundError:
            raise ApplicationNotFoundError(
                f"product_id：没有产品 {product_id}", f"product_id: no product {product_id}"
            ) from None
        if product.status != PUBLISHED:
            raise ApplicationError(
                f"product_id：产品 {product_id} 未上架",
                f"product_id: {product_id} is not published",
            )
    money = to_money(amount, "amount")
    if not Decimal("0") < money <= MAX_AMOUNT:
        raise ApplicationError("amount：申请金额须大于 0", "amount: must be more than 0 yuan")
    if product is not None and not product.amount_min <= money <= product.amount_max:
        raise ApplicationError(
            f"amount：该产品可贷 {product.amount_min} 至 {product.amount_max} 元",
            f"amount: this product lends {product.amount_min} to {product.amount_max} yuan",
        )
    term = _whole(term_months, "term_months")
    low, high = (product.term_min, product.term_max) if product else (MIN_TERM, MAX_TERM)
    if not low <= term <= high:
        raise ApplicationError(
            f"term_months：期限须为 {low} 至 {high} 个月",
            f"term_months: the term is {low} to {high} months",
        )
    text = (purpose or "").strip()
    if not 1 <= len(text) <= MAX_PURPOSE:
        raise ApplicationError(
            f"purpose：请填写用途（1 至 {MAX_PURPOSE} 个字符）",
            f"purpose: say what the loan is for (1 to {MAX_PURPOSE} characters)",
        )
    phone = normalize_phone(contact_phone)
    days = _whole(consent_days, "consent_days")
    if not consent_service.MIN_DAYS <= days <= consent_service.MAX_DAYS:
        raise ApplicationError(
            f"consent_days：授权期限须为 {consent_service.MIN_DAYS} 至 "
            f"{consent_service.MAX_DAYS} 天",
            f"consent_days: a consent lasts {consent_service.MIN_DAYS} to "
            f"{consent_service.MAX_DAYS} days",
        )
    chosen = tuple(PROFILE_SECTIONS) if sections is None else tuple(dict.fromkeys(sections))
    unknown = [s for s in chosen if s not in PROFILE_SECTIONS]
    if unknown or not chosen:
        names = ", ".join(PROFILE_SECTIONS)
        raise ApplicationError(
            f"sections：请从 {names} 中选择至少一项",
            f"sections: choose at least one of {names}",
        )
    return ApplicationRequest(
        uscc=actor.uscc,
        product=product,
        bank_code=product.bank_code if product else None,
        amount=money,
        term_months=term,
        purpose=text,
        contact_phone=phone,
        consent_days=days,
        sections=tuple(s for s in PROFILE_SECTIONS if s in chosen),
    )


def _whole(value: Any, field: str) -> int:
    if isinstance(value, bool):
        value = None
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        number = None
    if number is None:
        raise ApplicationError(f"{field}：请输入整数", f"{field}: enter a whole number")
    return number


def _grant(
    session: Session,
    actor: Actor,
    bank_code: str,
    days: int,
    uscc: str,
    sections: Sequence[str],
    number: str,
) -> int:
    """Grant the consent through the consent service (its ledger names the application)."""
    consent = consent_service.grant(
        session,
        actor,
        bank_code,
        days,
        uscc=uscc,
        note=f"application {number}",
        sections=list(sections),
        application=number,
    )
    return int(consent.id)


def submit(
    session: Session,
    actor: Actor,
    product_id: int | None,
    amount: Any,
    term_months: Any,
    purpose: str,
    contact_phone: str,
    consent_days: Any = DEFAULT_CONSENT_DAYS,
    sections: Iterable[str] | None = None,
    runtime: DecisionRuntime | None = None,
) -> Application:
    """A business applies: to a product's bank (the consent to that bank is granted now),
    or, without a product, to the open pool (the consent goes to the bank that claims it,
    for the days and sections authorised here).

    For an instant product (``Product.instant``) the decision is made at once, in the same
    transaction (:func:`decide_instantly`, with ``runtime`` — the web worker's; when None
    the process's default runtime of ``Settings().home``)."""
    checked = check_request(
        session,
        actor,
        product_id,
        amount,
        term_months,
        purpose,
        contact_phone,
        consent_days=consent_days,
        sections=sections,
    )
    assert actor.user_id is not None
    now = utcnow()
    application = Application(
        number=new_number(session, now),
        uscc=checked.uscc,
        applicant_user_id=actor.user_id,
        product_id=checked.product.id if checked.product else None,
        bank_code=checked.bank_code,
        amount=checked.amount,
        term_months=checked.term_months,
        purpose=checked.purpose,
        contact_phone=checked.contact_phone,
        status=SUBMITTED,
        consent_days=checked.consent_days,
        consent_sections=list(checked.sections),
        consent_id=None,
        submitted_at=now,
        updated_at=now,
        stage_due_at=due_after(SUBMITTED, now),
    )
    session.add(application)
    session.flush()
    if checked.bank_code is not None:
        application.consent_id = _grant(
            session,
            actor,
            checked.bank_code,
            checked.consent_days,
            checked.uscc,
            checked.sections,
            application.number,
        )
        session.flush()
    _announce(
        session,
        actor,
        application,
        None,
        SUBMITTED,
        now,
        note="",
        due_at=None,
        action="application.submit",
        detail={
            "product_id": application.product_id,
            "amount": str(application.amount),
            "term_months": application.term_months,
            "pool": application.bank_code is None,
            "consent_days": application.consent_days,
            "sections": list(checked.sections),
            "consent_id": application.consent_id,
        },
    )
    if checked.product is not None and checked.product.instant:
        if runtime is None:  # outside a web request: the process's runtime of this home
            runtime = default_runtime(Settings().home / "policy.yaml")
        decide_instantly(session, application, runtime)
    return application


def _reasons_note(decision: Decision, prefix: str) -> str:
    """``prefix`` and the decision's reasons (zh / en), cut to :data:`MAX_NOTE`."""
    reasons = decision.result.get("reasons") or []
    text = "；".join(f"{r.get('zh', '')} / {r.get('en', '')}" for r in reasons)
    note = f"{prefix} {decision.public_id}" + (f"：{text}" if text else "")
    return note if len(note) <= MAX_NOTE else note[: MAX_NOTE - 1] + "…"


def decide_instantly(
    session: Session, application: Application, runtime: DecisionRuntime
) -> Decision | None:
    """The instant loan (秒批): decide a just-submitted application as the platform
    (:data:`DECISIONS_ACTOR`) and move it without a person.

    Approve (within the pre-credit limit, on an instant product: the result's
    ``instant``): submitted → accepted → under_review → approved with the decision's
    amount and rate; the applicant's contract acceptance is then the only step
    (:func:`transition` disburses right after it). Decline: → declined, the reasons in the
    note. Refer: it stays ``under_review``, in the bank's refer queue (:func:`referred_condition`).
    Each stage writes its event, audit row and one notice as usual. When no decision can
    be made (no published profile, no champion model) the application stays ``submitted``
    for the bank and an ``application.instant_skipped`` audit row says why; None then.
    """
    try:
        decision = decisions_service.decide_for_application(
            session, DECISIONS_ACTOR, application, runtime
        )
    except PuhuiError as error:
        record(
            session,
            DECISIONS_ACTOR,
            "application.instant_skipped",
            "application",
            application.id,
            {"number": application.number, "reason": error.message_en},
        )
        return None
    application.decision_id = decision.id
    session.flush()
    steps: list[tuple[str, str, dict[str, Any]]] = [
        (ACCEPTED, f"自动受理 / accepted automatically ({decision.public_id})", {}),
        (UNDER_REVIEW, _reasons_note(decision, "自动审查 / automatic review"), {}),
    ]
    result = decision.result
    if decision.outcome == APPROVE and result.get("instant") and result.get("approved_amount"):
        values = {
            "approved_amount": to_money(result["approved_amount"], "approved_amount"),
            "approved_rate": to_rate(result["price"]["rate"]),
        }
        steps.append((APPROVED, f"秒批通过 / approved instantly ({decision.public_id})", values))
    elif decision.outcome == DECLINE:
        steps.append((DECLINED, _reasons_note(decision, "自动拒绝 / declined automatically"), {}))
    for stage, note, values in steps:
        if not _advance(session, DECISIONS_ACTOR, application, stage, note, values):
            raise ApplicationConflictError(
                "申请刚被他人更新，请刷新后重试",
                "the application was changed meanwhile; reload and try again",
            )
    return decision


def _decided_by_platform(session: Session, application: Application) -> bool:
    """Whether the application's current stage was reached by the decisions actor."""
    last = session.scalar(
        select(ApplicationEvent)
        .where(
            ApplicationEvent.application_id == application.id,
            ApplicationEvent.stage == application.status,
        )
        .order_by(ApplicationEvent.at.desc(), ApplicationEvent.id.desc())
        .limit(1)
    )
    return (
        last is not None
        and last.actor_kind == DECISIONS_ACTOR.kind
        and last.actor_id == DECISIONS_ACTOR.id
    )


def is_referred(session: Session, application: Application) -> bool:
    """In the refer queue: under review, its decision referred it to a person."""
    if application.status != UNDER_REVIEW or application.decision_id is None:
        return False
    decision = session.get(Decision, application.decision_id)
    return decision is not None and decision.outcome == REFER


def overridable(session: Session, actor: Actor, application: Application) -> bool:
    """Whether ``actor`` may :func:`override` the application's automatic result now."""
    if not (
        actor.kind == "user"
        and actor.role in (Role.BANK_OFFICER, Role.BANK_ADMIN)
        and actor.bank_code is not None
        and actor.bank_code == application.bank_code
        and application.decision_id is not None
    ):
        return False
    if application.status in (APPROVED, DECLINED):
        return _decided_by_platform(session, application)
    return is_referred(session, application)


def is_instant(session: Session, application: Application) -> bool:
    """An instant loan: its decision approved it as instant and the platform (not an
    officer's override) approved it."""
    if application.decision_id is None:
        return False
    decision = session.get(Decision, application.decision_id)
    if decision is None or not decision.result.get("instant"):
        return False
    approved = session.scalar(
        select(ApplicationEvent)
        .where(
            ApplicationEvent.application_id == application.id,
            ApplicationEvent.stage == APPROVED,
        )
        .order_by(ApplicationEvent.at.desc(), ApplicationEvent.id.desc())
        .limit(1)
    )
    return (
        approved is not None
        and approved.actor_id == DECISIONS_ACTOR.id
        and (approved.actor_kind == DECISIONS_ACTOR.kind)
    )


# --------------------------------------------------------------------------- claim


def claim(session: Session, actor: Actor, application_id: int) -> Application:
    """A bank takes an application from the open pool; exactly one bank wins.

    ONE conditional UPDATE decides: it matches only while the row has no bank and is still
    ``submitted``. Every loser (its UPDATE matched nothing) gets 409, including when the
    pool application went to another bank meanwhile. The winner's bank gets the consent the
    applicant authorised, granted now by the platform in the applicant's name.
    """
    if not (actor.is_bank and actor.bank_code):
        get_application(session, actor, application_id)  # 404 when not even visible
        raise ApplicationForbiddenError(
            "只有银行人员或银行系统可以抢单", "only a bank's staff or system may claim"
        )
    bank = actor.bank_code
    now = utcnow()
    result = session.execute(
        update(Application)
        .where(
            Application.id == application_id,
            Application.bank_code.is_(None),
            Application.status == SUBMITTED,
        )
        .values(
            bank_code=bank,
            status=ACCEPTED,
            updated_at=now,
            stage_due_at=due_after(ACCEPTED, now),
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise _claim_refused(session, actor, application_id)
    application = session.get(Application, application_id, populate_existing=True)
    assert application is not None
    due_at = due_after(SUBMITTED, application.submitted_at)  # the pool's deadline
    application.consent_id = _grant(
        session,
        SYSTEM_ACTOR,
        bank,
        application.consent_days,
        application.uscc,
        application.consent_sections,
        application.number,
    )
    session.flush()
    _announce(
        session,
        actor,
        application,
        SUBMITTED,
        ACCEPTED,
        now,
        note="",
        due_at=due_at,
        action="application.claim",
        detail={"consent_id": application.consent_id},
    )
    return application


def _claim_refused(session: Session, actor: Actor, application_id: int) -> ApplicationError:
    """Why a claim's UPDATE matched nothing. A pool application (one without a product)
    taken by another bank is a 409 — every bank saw it in the pool; an application sent to
    another bank's product was never visible to this one: 404."""
    found = session.get(Application, application_id, populate_existing=True)
    if found is None or (found.product_id is not None and found.bank_code != actor.bank_code):
        return _not_found(application_id)
    if found.bank_code == actor.bank_code:
        return ApplicationConflictError(
            f"申请 {found.number} 已属于本行，无需抢单",
            f"application {found.number} is your bank's already",
        )
    if found.bank_code is not None:
        return ApplicationConflictError(
            "该申请已被其他银行抢先受理", "another bank claimed this application first"
        )
    return ApplicationConflictError(
        f"该申请已不在抢单池中（{stage_label(found.status)}）",
        f"this application is no longer in the pool ({stage_label(found.status, 'en')})",
    )


# --------------------------------------------------------------------------- transitions


def transition(
    session: Session,
    actor: Actor,
    application_id: int,
    to_stage: str,
    note: str = "",
    approved_amount: Any = None,
    approved_rate: Any = None,
) -> Application:
    """Move an application to ``to_stage`` as :data:`TRANSITIONS` allows.

    404 when the actor does not see it; 409 when the step is not allowed from its current
    stage (or someone moved it meanwhile); 403 when the step is allowed but not to this
    actor. ``approved_amount`` (default: the amount asked for) and ``approved_rate`` go with
    ``approved`` only. A bank's ``accepted`` on a pool application is a :func:`claim`.
    """
    application = get_application(session, actor, application_id)
    if to_stage not in STAGES:
        names = ", ".join(STAGES)
        raise ApplicationError(
            f"to：阶段 {to_stage!r} 无效，可选：{names}",
            f"to: stage {to_stage!r} is invalid; one of: {names}",
        )
    if to_stage == ACCEPTED and is_pool(application) and actor.is_bank:
        return claim(session, actor, application_id)
    who = TRANSITIONS.get((application.status, to_stage))
    if who is None:
        raise ApplicationConflictError(
            f"申请处于「{stage_label(application.status)}」，不能变为「{stage_label(to_stage)}」",
            f"the application is {stage_label(application.status, 'en')}: it cannot become "
            f"{stage_label(to_stage, 'en')}",
        )
    if not who & parties(actor, application) or who == {SYSTEM}:
        raise ApplicationForbiddenError(
            f"您不能将申请变为「{stage_label(to_stage)}」",
            f"you may not move this application to {stage_label(to_stage, 'en')}",
        )
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise ApplicationError(
            f"note：备注最多 {MAX_NOTE} 个字符", f"note: at most {MAX_NOTE} characters"
        )
    if to_stage in OVERRIDE_STAGES.values() and is_referred(session, application):
        # the engine referred it: a person decides, and only with a written reason
        outcome = APPROVE if to_stage == APPROVED else DECLINE
        return override(
            session, actor, application_id, outcome, text, approved_amount, approved_rate
        )
    values: dict[str, Any] = {}
    if to_stage == APPROVED:
        values = _approval(session, application, approved_amount, approved_rate)
    elif approved_amount is not None or approved_rate is not None:
        raise ApplicationError(
            "approved_amount / approved_rate：仅在审批通过时填写",
            "approved_amount / approved_rate: only when approving",
        )
    if not _advance(session, actor, application, to_stage, text, values):
        raise ApplicationConflictError(
            "申请刚被他人更新，请刷新后重试",
            "the application was changed meanwhile; reload and try again",
        )
    if to_stage == CONTRACT_SIGNED and is_instant(session, application):
        # The instant loan: the applicant's acceptance was the only step; the platform
        # disburses at once.
        note = "秒批自动放款 / disbursed automatically (instant loan)"
        if not _advance(session, DECISIONS_ACTOR, application, DISBURSED, note):
            raise ApplicationConflictError(
                "申请刚被他人更新，请刷新后重试",
                "the application was changed meanwhile; reload and try again",
            )
    return application


# --------------------------------------------------------------------------- override

#: Outcomes an officer's override may give, and the stage each one moves to.
OVERRIDE_STAGES = {APPROVE: APPROVED, DECLINE: DECLINED}


def override(
    session: Session,
    actor: Actor,
    application_id: int,
    outcome: str,
    reason: str,
    approved_amount: Any = None,
    approved_rate: Any = None,
) -> Application:
    """An officer (or admin) of the owning bank decides instead of the engine, with a
    written reason: approves or declines a referred application (the refer queue), or
    overrides an automatic decline or approval before the contract is signed.

    The stored decision is never changed: the override is the application's event (its
    note the reason), its ``application.transition`` audit row and a ``decision.override``
    audit row naming the decision, the old and new outcome and the reason. Approving takes
    ``approved_amount`` (default: the decision's offer, else the amount asked for) and
    ``approved_rate`` (default: the decision's price) within the product's range.
    """
    application = get_application(session, actor, application_id)
    if not (
        actor.kind == "user"
        and actor.role in (Role.BANK_OFFICER, Role.BANK_ADMIN)
        and actor.bank_code
        and actor.bank_code == application.bank_code
    ):
        raise ApplicationForbiddenError(
            "只有受理银行的审批人员可以改判",
            "only an officer of the application's bank may override",
        )
    if outcome not in OVERRIDE_STAGES:
        raise ApplicationError(
            f"outcome：改判结果须为 approve 或 decline，收到 {outcome!r}",
            f"outcome: an override is approve or decline, got {outcome!r}",
        )
    text = (reason or "").strip()
    if not text:
        raise ApplicationError(
            "reason：改判须填写书面理由", "reason: an override needs a written reason"
        )
    if len(text) > MAX_REASON:
        raise ApplicationError(
            f"reason：理由最多 {MAX_REASON} 个字符（收到 {len(text)} 个）",
            f"reason: at most {MAX_REASON} characters (got {len(text)})",
        )
    decision = session.get(Decision, application.decision_id) if application.decision_id else None
    if decision is None:
        raise ApplicationConflictError(
            "该申请没有自动决策，无需改判：请按正常流程审批",
            "this application has no automatic decision to override: use the usual steps",
        )
    to_stage = OVERRIDE_STAGES[outcome]
    referred = application.status == UNDER_REVIEW and decision.outcome == REFER
    automatic = application.status in (APPROVED, DECLINED) and _decided_by_platform(
        session, application
    )
    if not (referred or automatic) or application.status == to_stage:
        raise ApplicationConflictError(
            f"申请处于「{stage_label(application.status)}」，不能改判为「{stage_label(to_stage)}」"
            "（仅限转人工的申请，或签约前的自动审批结果）",
            f"the application is {stage_label(application.status, 'en')}: it cannot be "
            f"overridden to {stage_label(to_stage, 'en')} (only a referred application, or an "
            "automatic result before the contract)",
        )
    values: dict[str, Any]
    if to_stage == APPROVED:
        offer = decision.result.get("approved_amount") or (decision.result.get("limit") or {}).get(
            "offered_limit"
        )
        amount = approved_amount
        if amount is None and offer and Decimal(str(offer)) > 0:
            amount = min(Decimal(str(offer)), application.amount)
        rate = approved_rate
        if rate is None:
            rate = (decision.result.get("price") or {}).get("rate")
        values = _approval(session, application, amount, rate)
    else:
        if approved_amount is not None or approved_rate is not None:
            raise ApplicationError(
                "approved_amount / approved_rate：仅在审批通过时填写",
                "approved_amount / approved_rate: only when approving",
            )
        values = {"approved_amount": None, "approved_rate": None}
    old = decision.outcome if referred else (APPROVE if application.status == APPROVED else DECLINE)
    note = f"人工改判 / override ({decision.public_id}): {text}"
    if len(note) > MAX_NOTE:
        note = note[: MAX_NOTE - 1] + "…"
    if not _advance(session, actor, application, to_stage, note, values):
        raise ApplicationConflictError(
            "申请刚被他人更新，请刷新后重试",
            "the application was changed meanwhile; reload and try again",
        )
    record(
        session,
        actor,
        "decision.override",
        "decision",
        decision.public_id,
        {
            "decision_id": decision.public_id,
            "application_id": application.id,
            "number": application.number,
            "decision_outcome": decision.outcome,
            "old_outcome": old,
            "new_outcome": outcome,
            "reason": text,
        },
    )
    return application


def _approval(session: Session, application: Application, amount: Any, rate: Any) -> dict[str, Any]:
    """The approved amount (at most the amount asked, within the product's range) and
    rate (within the product's range when there is one)."""
    approved = application.amount if amount is None else to_money(amount, "approved_amount")
    if rate is None:
        raise ApplicationError(
            "approved_rate：审批通过须填写年利率（%）",
            "approved_rate: approving needs the rate (%)",
        )
    rate_value = to_rate(rate)
    product = session.get(Product, application.product_id) if application.product_id else None
    low = product.amount_min if product is not None else FEN
    if not low <= approved <= application.amount:
        raise ApplicationError(
            f"approved_amount：批准金额须为 {low} 至申请金额 {application.amount} 元",
            f"approved_amount: from {low} up to the {application.amount} yuan asked for",
        )
    if product is not None and not product.rate_min <= rate_value <= product.rate_max:
        raise ApplicationError(
            f"approved_rate：该产品年利率为 {product.rate_min}% 至 {product.rate_max}%",
            f"approved_rate: this product's rate is {product.rate_min}% to {product.rate_max}%",
        )
    return {"approved_amount": approved, "approved_rate": rate_value}


def _advance(
    session: Session,
    actor: Actor,
    application: Application,
    to_stage: str,
    note: str,
    values: dict[str, Any] | None = None,
    now: datetime | None = None,
    overdue_only: bool = False,
) -> bool:
    """Move ``application`` from the stage it had when read to ``to_stage`` with one
    conditional UPDATE; write the event, audit row and notice. False when the UPDATE
    matched nothing (someone moved it first)."""
    now = now or utcnow()
    from_stage = application.status
    previous_due = application.stage_due_at
    conditions = [Application.id == application.id, Application.status == from_stage]
    if overdue_only:
        conditions.append(Application.stage_due_at < now)
    result = session.execute(
        update(Application)
        .where(*conditions)
        .values(
            status=to_stage,
            updated_at=now,
            stage_due_at=due_after(to_stage, now),
            **(values or {}),
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    session.refresh(application)
    due_at = None if to_stage == WITHDRAWN else previous_due
    detail: dict[str, Any] = {"from": from_stage}
    if values:
        detail.update({k: str(v) for k, v in values.items()})
    _announce(
        session,
        actor,
        application,
        from_stage,
        to_stage,
        now,
        note=note,
        due_at=due_at,
        action="application.expire" if to_stage == EXPIRED else "application.transition",
        detail=detail,
    )
    return True


def _announce(
    session: Session,
    actor: Actor,
    application: Application,
    from_stage: str | None,
    to_stage: str,
    at: datetime,
    *,
    note: str,
    due_at: datetime | None,
    action: str,
    detail: dict[str, Any],
) -> ApplicationEvent:
    """The three records of every stage reached: the event, the audit row, ONE notice."""
    event = ApplicationEvent(
        application_id=application.id,
        stage=to_stage,
        from_stage=from_stage,
        at=at,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_role=str(actor.role),
        actor_bank=actor.bank_code,
        note=note,
        due_at=due_at,
        breached=to_stage == EXPIRED or (due_at is not None and at > due_at),
    )
    session.add(event)
    session.flush()
    record(
        session,
        actor,
        action,
        "application",
        application.id,
        {
            "number": application.number,
            "to": to_stage,
            "bank": application.bank_code,
            **detail,
        },
    )
    bank = get_bank(session, application.bank_code) if application.bank_code else None
    text = NOTICE_TEXT[to_stage].format(bank=bank.name if bank else "银行")
    queue_notice(
        session,
        channel="sms",
        kind="application.stage",
        address=application.contact_phone,
        user_id=application.applicant_user_id,
        application_id=application.id,
        body=f"【普惠】您的贷款申请 {application.number} {text}。可凭申请编号查询办理进度。",
        params={"number": application.number, "stage": to_stage},
        dedupe_key=f"application:{application.id}:{to_stage}",
    )
    return event


# --------------------------------------------------------------------------- sweep


def expire_overdue(session: Session, now: datetime | None = None) -> list[Application]:
    """Expire every application whose stage deadline passed in a stage that expires
    (:data:`SLA`), pool ones included; returns those expired. Each one is a conditional
    UPDATE, so an application moved meanwhile is left alone."""
    now = now or utcnow()
    expiring = [stage for stage, sla in SLA.items() if sla.expires]
    overdue = session.scalars(
        select(Application)
        .where(Application.status.in_(expiring), Application.stage_due_at < now)
        .order_by(Application.stage_due_at, Application.id)
    ).all()
    expired = []
    for application in overdue:
        note = f"SLA {SLA[application.status].hours} h"
        if _advance(session, SYSTEM_ACTOR, application, EXPIRED, note, now=now, overdue_only=True):
            expired.append(application)
    return expired


# --------------------------------------------------------------------------- tracking


@dataclass(frozen=True)
class TrackStage:
    """One of the six public stages on the tracker (``declined`` in the fourth place when
    the bank declined). ``state``: done, current, pending or skipped (never reached because
    the application ended before)."""

    stage: str
    state: str
    reached_at: datetime | None
    due_at: datetime | None
    sla_hours: int | None
    breached: bool


@dataclass(frozen=True)
class TrackView:
    """What anyone holding the number may see: no uscc, no names, no phone, no amount."""

    number: str
    status: str
    bank_name: str | None
    product_name: str | None
    submitted_at: datetime
    stage_due_at: datetime | None
    stages: list[TrackStage]
    ended: TrackStage | None  # withdrawn or expired, when it was

    @property
    def final(self) -> bool:
        return self.status in FINAL_STAGES


def tracker(application: Application, events: Sequence[ApplicationEvent]) -> list[TrackStage]:
    """The six public stages of ``application`` from its events."""
    reached = {event.stage: event for event in events}
    positions = list(PUBLIC_STAGES)
    # declined in the fourth place unless an override approved it afterwards
    if DECLINED in reached and (
        APPROVED not in reached
        or (reached[DECLINED].at, reached[DECLINED].id)
        > (reached[APPROVED].at, reached[APPROVED].id)
    ):
        positions[positions.index(APPROVED)] = DECLINED
    stages = []
    for index, stage in enumerate(positions):
        event = reached.get(stage)
        previous = positions[index - 1] if index else None
        sla = SLA.get(APPROVED if previous == DECLINED else previous) if previous else None
        if event is not None:
            state = "current" if stage == application.status else "done"
        elif application.status in FINAL_STAGES:
            state = "skipped"
        else:
            state = "pending"
        stages.append(
            TrackStage(
                stage=stage,
                state=state,
                reached_at=event.at if event else None,
                due_at=event.due_at if event else None,
                sla_hours=sla.hours if sla else None,
                breached=bool(event.breached) if event else False,
            )
        )
    return stages


def track(session: Session, number: str) -> TrackView:
    """The public tracking of one application by its number (no sign-in needed)."""
    wanted = (number or "").strip().upper()
    found = (
        session.scalar(select(Application).where(Application.number == wanted))
        if NUMBER_PATTERN.match(wanted)
        else None
    )
    if found is None:
        raise ApplicationNotFoundError(
            f"没有编号为 {wanted[:40]} 的申请", f"no application numbered {wanted[:40]}"
        )
    events = events_of(session, found.id)
    bank = get_bank(session, found.bank_code) if found.bank_code else None
    product = session.get(Product, found.product_id) if found.product_id else None
    end_event = next((e for e in events if e.stage in (WITHDRAWN, EXPIRED)), None)
    ended = None
    if end_event is not None:
        ended = TrackStage(
            end_event.stage, "current", end_event.at, end_event.due_at, None, end_event.breached
        )
    return TrackView(
        number=found.number,
        status=found.status,
        bank_name=bank.name if bank else None,
        product_name=product.name if product else None,
        submitted_at=found.submitted_at,
        stage_due_at=found.stage_due_at,
        stages=tracker(found, events),
        ended=ended,
    )
