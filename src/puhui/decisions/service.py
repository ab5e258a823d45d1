"""Decisions: decide a loan request, read a decision, replay it, and the survey hint.

Who may do what is decided here, once:

* **decide** — a bank's officer, admin or system (:data:`~puhui.accounts.actor.BANK_ROLES`)
  for its own bank, and only while the business has a live consent for that bank
  (:func:`puhui.consent.service.has_consent`). A refusal is audited
  (``decision.refused``) before the error is raised: the API answers it without raising,
  so the audit row is committed with the request.
* **read** — :func:`visible_decisions`: the bank the decision was made for, and the
  platform's operators; anyone else finds nothing (404).
* **hint** — the business itself (its enterprise user), customer managers and operators.

Every decision is stored in ``decisions`` (append-only) with its inputs — the feature
vector, the request and a snapshot of the product — the models and the policy (whose text
goes to ``policy_versions`` the first time it decides), and the engine's whole result;
:func:`replay` makes it again from those and compares field by field. Services flush,
never commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Insert, Select, Table, bindparam, false, insert, inspect, or_, select
from sqlalchemy.orm import Session, make_transient_to_detached

from puhui.accounts.actor import BANK_ROLES, Actor, Role
from puhui.accounts.chain import WROTE_WAITING, is_deferred
from puhui.accounts.models import AuditEntry
from puhui.accounts.service import audit_values, record, utcnow
from puhui.consent.service import has_consent
from puhui.decisions.engine import (
    ENGINE_VERSION,
    DecisionEngine,
    DecisionRequest,
    DecisionResult,
    HintResult,
    ProductTerms,
    SurveyFigures,
    decode_features,
    encode_features,
    money,
)
from puhui.decisions.models import Decision, PolicyVersion
from puhui.decisions.runtime import DecisionRuntime, LoadedPolicy, build_engine
from puhui.errors import PuhuiError
from puhui.identifiers import is_valid_uscc
from puhui.market.models import Product
from puhui.market.vocab import PUBLISHED
from puhui.scoring.policy import parse_policy_text

if TYPE_CHECKING:
    from puhui.applications.models import Application

#: Largest amount a request may ask for (yuan).
MAX_AMOUNT = Decimal("100000000.00")
MAX_TERM = 360
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class DecisionError(PuhuiError):
    """A decision request that cannot be done as asked (HTTP 400)."""

    http_status = 400


class DecisionForbiddenError(DecisionError):
    http_status = 403


class DecisionNotFoundError(DecisionError):
    http_status = 404


def require_schema(session: Session) -> None:
    if not inspect(session.connection()).has_table(Decision.__tablename__):
        raise PuhuiError(
            "应用数据库尚未升级，请先运行 puhui db upgrade",
            "the app database is not migrated yet: run puhui db upgrade first",
        )


# --------------------------------------------------------------------------- who sees what


def visible_decisions(actor: Actor) -> Select[Decision]:
    """Decisions ``actor`` may read: a bank's (its officers, admins and system) its own;
    the operator (a person or the platform, not a client) all; anyone else none."""
    statement = select(Decision)
    if actor.role is Role.OPERATOR and actor.kind != "client":
        return statement
    if actor.role in BANK_ROLES and actor.bank_code:
        return statement.where(Decision.bank_code == actor.bank_code)
    return statement.where(false())


def may_hint(actor: Actor, uscc: str) -> bool:
    """The survey hint: the business itself, customer managers, operators."""
    if actor.role is Role.ENTERPRISE:
        return actor.kind == "user" and actor.uscc == uscc
    return actor.role is Role.CUSTOMER_MANAGER or (
        actor.role is Role.OPERATOR and actor.kind != "client"
    )


# --------------------------------------------------------------------------- inputs


def _uscc(value: str) -> str:
    uscc = value.strip().upper()
    if not is_valid_uscc(uscc):
        raise DecisionError(
            f"uscc：统一社会信用代码 {value!r} 无效",
            f"uscc: {value!r} is not a valid unified social credit code",
        )
    return uscc


def _amount(value: Decimal | int | str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
        raise DecisionError(
            f"amount：申请金额须大于 0 且不超过 {MAX_AMOUNT:,.0f} 元，收到 {value}",
            f"amount: the amount must be above 0 and at most {MAX_AMOUNT:,.0f} yuan, got {value}",
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise DecisionError(
            f"amount：金额最多两位小数，收到 {value}",
            f"amount: at most two decimal places, got {value}",
        )
    return money(amount)


def _term(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not 1 <= value <= MAX_TERM:
        raise DecisionError(
            f"term_months：期限须为 1 至 {MAX_TERM} 个月，收到 {value}",
            f"term_months: the term must be 1 to {MAX_TERM} months, got {value}",
        )
    return value


def product_terms(product: Product) -> ProductTerms:
    return ProductTerms(
        id=product.id,
        bank_code=product.bank_code,
        name=product.name,
        amount_min=money(product.amount_min),
        amount_max=money(product.amount_max),
        term_min=product.term_min,
        term_max=product.term_max,
        rate_min=money(product.rate_min),
        rate_max=money(product.rate_max),
        instant=bool(product.instant),
        min_score=product.min_score,
        min_credit_points=product.min_credit_points,
        max_pd=product.max_pd,
        min_age_years=product.min_age_years,
        exclude_dishonest=bool(product.exclude_dishonest),
        exclude_abnormal=bool(product.exclude_abnormal),
        entity_types=tuple(product.entity_types or ()),
        industries=tuple(product.industries or ()),
        districts=tuple(product.districts or ()),
        tiers=tuple(product.tiers or ()),
        policy_lists=tuple(product.policy_lists or ()),
    )


def _product(session: Session, bank_code: str, product_id: int) -> Product:
    """The bank's own published product (another bank's, or none: 404)."""
    product = session.get(Product, product_id)
    if product is None or product.bank_code != bank_code:
        raise DecisionNotFoundError(
            f"product_id：本行没有产品 {product_id}",
            f"product_id: your bank has no product {product_id}",
        )
    if product.status != PUBLISHED:
        raise DecisionError(
            f"product_id：产品 {product_id} 未上架（{product.status}）",
            f"product_id: product {product_id} is not published ({product.status})",
        )
    return product


def _public_id() -> str:
    return (
        "DC" + utcnow().strftime("%Y%m%d") + "".join(secrets.choice(_ALPHABET) for _ in range(10))
    )


# --------------------------------------------------------------------------- deciding


def decide(
    session: Session,
    actor: Actor,
    runtime: DecisionRuntime,
    uscc: str,
    amount: Decimal | int | str,
    *,
    product_id: int | None = None,
    term_months: int | None = None,
) -> Decision:
    """Decide a loan request of ``uscc`` for the actor's bank and store it.

    Raises :class:`DecisionForbiddenError` (403) for anyone but a bank's people and
    systems, or without a live consent of the business for the bank (audited as
    ``decision.refused``); :class:`DecisionNotFoundError` (404) for a product the bank
    does not have, or a business with no published profile; :class:`DecisionError` (400)
    for a bad uscc, amount, term or an unpublished product.
    """
    if actor.role not in BANK_ROLES or not actor.bank_code:
        raise DecisionForbiddenError(
            "只有银行人员和银行系统可以请求决策",
            "only a bank's people and systems may ask for a decision",
        )
    uscc = _uscc(uscc)
    value = _amount(amount)
    term = _term(term_months)
    if not has_consent(session, actor.bank_code, uscc):
        record(
            session,
            actor,
            "decision.refused",
            "business",
            uscc,
            {"reason": "no_consent", "bank": actor.bank_code},
        )
        raise DecisionForbiddenError(
            "该企业未授权本行查询，无法决策：请先取得企业授权",
            "the business has not authorised your bank: a decision needs its consent first",
        )
    product = _product(session, actor.bank_code, product_id) if product_id is not None else None
    return _decide(session, actor, runtime, actor.bank_code, uscc, value, term, product, None)


def decide_for_application(
    session: Session, actor: Actor, application: Application, runtime: DecisionRuntime
) -> Decision:
    """Decide an application (the applications domain calls this; it sets
    ``application.decision_id`` itself).

    The decision is made for the application's bank (its product's bank while it is in
    the open pool) with the application's amount, term and product, needs the business's
    live consent for that bank, and is stored with ``application_id``. ``actor`` is the
    bank's person or system, or the platform (the instant-loan flow).
    """
    bank_code = application.bank_code
    product = session.get(Product, application.product_id) if application.product_id else None
    if bank_code is None and product is not None:
        bank_code = product.bank_code
    if bank_code is None:
        raise DecisionError(
            "申请尚未被银行受理，无法决策", "the application has no bank yet: it cannot be decided"
        )
    allowed = (actor.role in BANK_ROLES and actor.bank_code == bank_code) or (
        actor.role is Role.OPERATOR and actor.kind != "client"
    )
    if not allowed:
        raise DecisionForbiddenError(
            "只有受理银行或平台可以为该申请决策",
            "only the application's bank or the platform may decide it",
        )
    if not has_consent(session, bank_code, application.uscc):
        raise DecisionForbiddenError(
            "该企业未授权受理银行查询，无法决策",
            "the business has not authorised the application's bank: no decision without consent",
        )
    return _decide(
        session,
        actor,
        runtime,
        bank_code,
        application.uscc,
        _amount(application.amount),
        _term(application.term_months),
        product,
        application.id,
    )


def _decide(
    session: Session,
    actor: Actor,
    runtime: DecisionRuntime,
    bank_code: str,
    uscc: str,
    amount: Decimal,
    term: int | None,
    product: Product | None,
    application_id: int | None,
) -> Decision:
    found = runtime.features(session, uscc)
    if found is None:
        raise DecisionNotFoundError(
            f"uscc：企业 {uscc} 没有已发布的画像，无法决策",
            f"uscc: {uscc} has no published profile to decide on",
        )
    owner = runtime.owner_for(session, bank_code)
    engine = runtime.engine(session, owner)
    loaded = runtime.policy(session)
    if loaded.policy.fingerprint != engine.policy.fingerprint:  # refreshed in between
        engine = runtime.engine(session, owner)
        loaded = runtime.policy(session)
    request = DecisionRequest(amount, term, product_terms(product) if product is not None else None)
    result = engine.decide(found.features, request)
    runtime.store_policy(session, loaded)
    values = _values(
        actor, bank_code, uscc, request, found.features, found.as_of, owner, engine, result
    )
    values["application_id"] = application_id
    detail = {
        "uscc": uscc,
        "bank": bank_code,
        "outcome": result.outcome,
        "amount": str(amount),
        "product_id": values["product_id"],
        "application_id": application_id,
    }
    return _store(session, actor, values, detail)


def _table_of(model: type[Decision] | type[AuditEntry]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _insert(table: Table, prefix: str) -> Insert:
    """``INSERT`` of every column but ``id`` from parameters named ``prefix`` + column,
    built once: a request only binds values (no statement to build, its compiled form
    cached)."""
    return insert(table).values(
        {c.name: bindparam(prefix + c.name, type_=c.type) for c in table.columns if c.name != "id"}
    )


_decisions, _audit_log = _table_of(Decision), _table_of(AuditEntry)
_INSERT_DECISION = _insert(_decisions, "d_").returning(_decisions.c.id)
#: The decision and its waiting audit row in one statement (PostgreSQL: a data-modifying
#: CTE runs even though nothing refers to it).
_INSERT_DECISION_AND_AUDIT = _INSERT_DECISION.add_cte(_insert(_audit_log, "a_").cte("audit_row"))


def _store(
    session: Session, actor: Actor, values: dict[str, Any], detail: dict[str, Any]
) -> Decision:
    """Insert the decision and its ``decision.create`` audit row; the stored decision.

    Core statements, not ORM units of work: on PostgreSQL with the audit chain deferred
    (web requests) both rows go in *one* statement — the audit row's insert rides along
    as a data-modifying CTE of the decision's — so storing a decision costs one round
    trip. Otherwise the decision is inserted and :func:`record` chains the audit row in
    this transaction. The returned row is attached to the session as if just loaded.
    """
    params = {"d_" + name: value for name, value in values.items()}
    if is_deferred(session) and session.get_bind().dialect.name == "postgresql":
        audit = audit_values(actor, "decision.create", "decision", values["public_id"], detail)
        audit.update(seq=None, prev_hash=None, entry_hash=None)
        params.update({"a_" + name: value for name, value in audit.items()})
        decision_id = session.execute(_INSERT_DECISION_AND_AUDIT, params).scalar_one()
        session.info[WROTE_WAITING] = True
    else:
        decision_id = session.execute(_INSERT_DECISION, params).scalar_one()
        record(session, actor, "decision.create", "decision", values["public_id"], detail)
    row = Decision(id=decision_id, **values)
    make_transient_to_detached(row)
    session.add(row)
    return row


def _values(
    actor: Actor,
    bank_code: str,
    uscc: str,
    request: DecisionRequest,
    features: Mapping[str, Any],
    as_of: Any,
    owner: str,
    engine: DecisionEngine,
    result: DecisionResult,
) -> dict[str, Any]:
    """The columns of a new decision row (all but ``id`` and ``application_id``)."""
    return {
        "public_id": _public_id(),
        "created_at": utcnow(),
        "uscc": uscc,
        "bank_code": bank_code,
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "product_id": request.product.id if request.product is not None else None,
        "amount": request.amount,
        "term_months": request.term_months,
        "request": request.to_json(),
        "features": encode_features(features),
        "features_as_of": as_of,
        "owner": owner,
        "champion_model_id": engine.champion.id,
        "challenger_model_ids": [spec.id for spec in engine.challengers],
        "policy_version": engine.policy.version,
        "policy_fingerprint": engine.policy.fingerprint,
        "engine_version": ENGINE_VERSION,
        "result": result.to_json(),
        "outcome": result.outcome,
        "reasons": result.reason_codes,
    }


# --------------------------------------------------------------------------- reading


def get_decision(session: Session, actor: Actor, ref: str | int) -> Decision:
    """One decision ``actor`` may read, by public id (or number); 404 for any other.
    A bank's read is audited (``decision.read``)."""
    text = str(ref).strip()
    condition = (
        or_(Decision.public_id == text.upper(), Decision.id == int(text))
        if text.isdigit() and len(text) < 10
        else Decision.public_id == text.upper()
    )
    found = session.scalar(visible_decisions(actor).where(condition))
    if found is None:
        raise DecisionNotFoundError(f"没有决策 {text}", f"no decision {text}")
    if actor.is_bank:
        record(session, actor, "decision.read", "decision", found.public_id)
    return found


# --------------------------------------------------------------------------- replay


@dataclass(frozen=True)
class FieldCheck:
    """One field of a stored result beside the same field made again."""

    path: str
    stored: Any
    recomputed: Any

    @property
    def same(self) -> bool:
        return bool(self.stored == self.recomputed and type(self.stored) is type(self.recomputed))


@dataclass(frozen=True)
class Replay:
    decision: Decision
    fields: list[FieldCheck]
    notes: list[str]

    @property
    def same(self) -> bool:
        return not self.notes and all(f.same for f in self.fields)

    @property
    def differences(self) -> list[FieldCheck]:
        return [f for f in self.fields if not f.same]


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A JSON value as ``{"rating.score": 612.0, "reasons[0].code": …}``."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key in value:
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out or {prefix: {}}
    if isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{i}]"))
        return out or {prefix: []}
    return {prefix: value}


_MISSING = "<missing>"


def compare(stored: Mapping[str, Any], recomputed: Mapping[str, Any]) -> list[FieldCheck]:
    """Field by field, in the stored order, then fields only the recomputation has."""
    a, b = flatten(dict(stored)), flatten(dict(recomputed))
    checks = [FieldCheck(path, a[path], b.get(path, _MISSING)) for path in a]
    checks += [FieldCheck(path, _MISSING, b[path]) for path in b if path not in a]
    return checks


def stored_policy(session: Session, fingerprint: str) -> LoadedPolicy | None:
    row = session.get(PolicyVersion, fingerprint)
    if row is None:
        return None
    return LoadedPolicy(
        parse_policy_text(row.text, f"policy_versions[{fingerprint[:12]}]"), row.text, row.source
    )


def recompute(
    decision: Decision,
    engine: DecisionEngine,
    *,
    features: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The result ``engine`` gives for the decision's stored inputs (or for ``features``
    in their place: what a tampered vector would have given)."""
    vector = decode_features(decision.features) if features is None else features
    return engine.decide(vector, DecisionRequest.from_json(decision.request)).to_json()


def replay(session: Session, ref: str | int, actor: Actor | None = None) -> Replay:
    """Make a stored decision again from its recorded models and policy and compare.

    The engine is rebuilt from the registry rows the decision names (their artefacts are
    checked against their fingerprints as they are read) and the policy text kept under
    its fingerprint (parsed again, and its fingerprint checked).
    """
    require_schema(session)
    decision = get_decision(session, actor or Actor.system("replay"), ref)
    notes: list[str] = []
    if decision.engine_version != ENGINE_VERSION:
        notes.append(f"engine version {decision.engine_version} stored, {ENGINE_VERSION} running")
    loaded = stored_policy(session, decision.policy_fingerprint)
    if loaded is None:
        raise DecisionError(
            f"找不到决策使用的信用政策 {decision.policy_fingerprint[:12]}",
            f"the policy the decision used ({decision.policy_fingerprint[:12]}) is not stored",
        )
    if loaded.policy.fingerprint != decision.policy_fingerprint:
        notes.append(
            f"stored policy text fingerprints as {loaded.policy.fingerprint}, "
            f"the decision recorded {decision.policy_fingerprint}"
        )
    engine = build_engine(
        session, loaded.policy, decision.champion_model_id, list(decision.challenger_model_ids)
    )
    recomputed = recompute(decision, engine)
    fields = compare(decision.result, recomputed)
    fields.append(FieldCheck("(column) outcome", decision.outcome, recomputed["outcome"]))
    fields.append(
        FieldCheck(
            "(column) reasons", list(decision.reasons), [r["code"] for r in recomputed["reasons"]]
        )
    )
    return Replay(decision, fields, notes)


# --------------------------------------------------------------------------- survey hint


def hint(
    session: Session,
    actor: Actor,
    runtime: DecisionRuntime,
    uscc: str,
    figures: SurveyFigures,
) -> tuple[HintResult, Any]:
    """The survey hint (惠富码) for ``uscc``: its profile plus what it reports.

    Returns the hint and the date of the features. Audited (``decision.hint``); not
    stored as a decision (nothing is asked for).
    """
    uscc = _uscc(uscc)
    if not may_hint(actor, uscc):
        raise DecisionForbiddenError(
            "只有企业本人、客户经理和平台运营人员可以查看测额结果",
            "only the business itself, customer managers and operators may see the hint",
        )
    found = runtime.features(session, uscc)
    if found is None:
        raise DecisionNotFoundError(
            f"uscc：企业 {uscc} 没有已发布的画像", f"uscc: {uscc} has no published profile"
        )
    engine = runtime.engine(session)
    result = engine.hint(found.features, figures)
    record(session, actor, "decision.hint", "business", uscc, {"risk": result.risk})
    return result, found.as_of
