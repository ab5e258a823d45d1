"""What the decision path keeps in memory per process: engines, the policy, and one
business's features, refreshed when the app database says the inputs changed.

The hot path of a decision reads nothing but the app database, and little of it:

* **features** — the published profile (``profiles``, one row per business, written by
  ``puhui publish``) holds the business's whole feature vector as of the publish date
  under ``document.features``. :meth:`DecisionRuntime.features` reads it with one
  primary-key query and keeps the parsed vector in an in-process cache (at most
  ``max_entries`` businesses, oldest dropped first).
* **engines** — one :class:`~puhui.decisions.engine.DecisionEngine` per model owner
  (the platform, or a bank with its own champion: 一行一模型), built from the registry's
  champion and challengers (``model_versions``) and the policy file.

**When it refreshes.** Every ``refresh_seconds`` (default 5 s) the first request reads
the *generation* of the inputs — the publish time of the profiles (``puhui publish``
stamps every row with the same ``published_at``; one row is read), the registry's live
models (id, owner, kind, status of every champion and challenger: ``puhui model train``
and ``puhui model promote`` change them) and the policy file's modification time. When
the publish time changed, the feature cache is emptied; when the models or the policy
changed, the engines are rebuilt. So a new publish, a promotion or a policy edit is in
force in every worker within ``refresh_seconds``; :meth:`DecisionRuntime.invalidate`
forces it at once (tests, or a command in the same process).

A decision made in that window is still exact: it records the features, models and
policy it actually used, and replays from those.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from puhui.accounts.service import utcnow
from puhui.decisions.engine import DecisionEngine, ModelSpec, clean_features
from puhui.decisions.models import PolicyVersion
from puhui.errors import PuhuiError
from puhui.features.models import Profile
from puhui.scoring.models import PLATFORM, ModelVersion
from puhui.scoring.policy import Policy, PolicyError, parse_policy_text, read_policy_text

CHAMPION, CHALLENGER = "champion", "challenger"


class DecisionUnavailableError(PuhuiError):
    """The platform cannot decide now: no champion model, or a broken policy (HTTP 503)."""

    http_status = 503


@dataclass(frozen=True)
class FeatureRow:
    """One business's feature vector as published: the values, and the date they are as of."""

    uscc: str
    features: Mapping[str, Any]
    as_of: date
    published_at: datetime


@dataclass(frozen=True)
class LoadedPolicy:
    policy: Policy
    text: str
    source: str


@dataclass(frozen=True)
class ModelRow:
    id: int
    owner: str
    kind: str
    status: str


@dataclass
class _State:
    checked_at: float = -1e18
    published_at: datetime | None = None
    models: tuple[ModelRow, ...] = ()
    policy_stamp: tuple[str, int, int] | None = None
    policy: LoadedPolicy | None = None
    engines: dict[str, DecisionEngine] = field(default_factory=dict)


class DecisionRuntime:
    """The per-process cache of the decision path (see the module docstring).

    ``policy_file``: the operator's policy (``<home>/policy.yaml``); while it does not
    exist the packaged default is used. Thread-safe: a lock guards every change.
    """

    def __init__(
        self,
        policy_file: Path | None = None,
        *,
        refresh_seconds: float = 5.0,
        max_entries: int = 200_000,
    ) -> None:
        self.policy_file = policy_file
        self.refresh_seconds = refresh_seconds
        self.max_entries = max_entries
        self._lock = threading.RLock()
        self._state = _State()
        self._features: dict[str, FeatureRow] = {}
        self._stored_policies: set[str] = set()
        self._pending_policies: dict[str, int] = {}  # fingerprint -> inserting session
        self.feature_reads = 0  # app-database reads of features (for tests and the bench)

    # ------------------------------------------------------------------ refresh

    def invalidate(self) -> None:
        """Forget everything: the next request reads the generation, features and models."""
        with self._lock:
            self._state = _State()
            self._features.clear()

    def _policy_stamp(self) -> tuple[str, int, int]:
        path = self.policy_file
        if path is not None and path.exists():
            stat = path.stat()
            return str(path), stat.st_mtime_ns, stat.st_size
        return ("<packaged>", 0, 0)

    def _load_policy(self, stamp: tuple[str, int, int]) -> LoadedPolicy:
        path = Path(stamp[0]) if stamp[0] != "<packaged>" else None
        try:
            text, source = read_policy_text(path)
            return LoadedPolicy(parse_policy_text(text, source), text, source)
        except PolicyError as error:
            raise DecisionUnavailableError(
                f"暂时无法决策：{error.message_zh}", f"cannot decide now: {error.message_en}"
            ) from error

    def refresh(self, session: Session, *, force: bool = False) -> None:
        """Read the generation if ``refresh_seconds`` have passed (or ``force``), and drop
        what it makes stale."""
        now = time.monotonic()
        state = self._state
        if not force and now - state.checked_at < self.refresh_seconds:
            return
        published = session.scalar(select(Profile.published_at).limit(1))
        models = tuple(
            ModelRow(int(r.id), str(r.owner), str(r.kind), str(r.status))
            for r in session.execute(
                select(ModelVersion.id, ModelVersion.owner, ModelVersion.kind, ModelVersion.status)
                .where(ModelVersion.status.in_((CHAMPION, CHALLENGER)))
                .order_by(ModelVersion.id)
            )
        )
        stamp = self._policy_stamp()
        with self._lock:
            state = self._state
            if published != state.published_at:
                self._features.clear()
            if models != state.models or stamp != state.policy_stamp:
                policy = self._load_policy(stamp) if stamp != state.policy_stamp else state.policy
                state = _State(now, published, models, stamp, policy, {})
            else:
                state = _State(now, published, models, stamp, state.policy, state.engines)
            self._state = state

    # ------------------------------------------------------------------ features

    def features(self, session: Session, uscc: str) -> FeatureRow | None:
        """The published feature vector of ``uscc`` (None when it has no profile)."""
        self.refresh(session)
        found = self._features.get(uscc)
        if found is not None:
            return found
        row = session.execute(
            select(Profile.document, Profile.as_of, Profile.published_at).where(
                Profile.uscc == uscc
            )
        ).first()
        self.feature_reads += 1
        if row is None:
            return None
        document = json.loads(row.document)
        found = FeatureRow(
            uscc, clean_features(document.get("features") or {}), row.as_of, row.published_at
        )
        with self._lock:
            if self._state.published_at == row.published_at:
                if len(self._features) >= self.max_entries:
                    self._features.pop(next(iter(self._features)))
                self._features[uscc] = found
        return found

    # ------------------------------------------------------------------ engines

    def owner_for(self, session: Session, bank_code: str | None) -> str:
        """Whose models decide for ``bank_code``: the bank's own when it has a champion
        (一行一模型), else the platform's."""
        self.refresh(session)
        models = self._state.models
        if bank_code and any(m.owner == bank_code and m.status == CHAMPION for m in models):
            return bank_code
        return PLATFORM

    def engine(self, session: Session, owner: str = PLATFORM) -> DecisionEngine:
        """The engine of ``owner``'s champion and challengers with the current policy."""
        self.refresh(session)
        state = self._state
        found = state.engines.get(owner)
        if found is not None:
            return found
        champion = next(
            (m for m in state.models if m.owner == owner and m.status == CHAMPION), None
        )
        if champion is None:
            raise DecisionUnavailableError(
                "暂时无法决策：还没有冠军模型，请先运行 puhui model train",
                "cannot decide now: there is no champion model yet (run puhui model train)",
            )
        challengers = [m for m in state.models if m.owner == owner and m.status == CHALLENGER]
        assert state.policy is not None
        engine = build_engine(
            session, state.policy.policy, champion.id, [m.id for m in challengers]
        )
        with self._lock:
            if self._state is state:
                state.engines[owner] = engine
        return engine

    def policy(self, session: Session) -> LoadedPolicy:
        self.refresh(session)
        assert self._state.policy is not None
        return self._state.policy

    # ------------------------------------------------------------------ policy texts

    def store_policy(self, session: Session, loaded: LoadedPolicy) -> None:
        """Keep the policy's text in ``policy_versions`` the first time it decides.

        A fingerprint counts as stored only once a committed row has been seen (the
        transaction that inserts it may still roll back), so steady state costs nothing.
        """
        fingerprint = loaded.policy.fingerprint
        if fingerprint in self._stored_policies:
            return
        if session.get(PolicyVersion, fingerprint) is not None:
            # Seen from another session than the one that inserted it: committed.
            if self._pending_policies.get(fingerprint) != id(session):
                self._stored_policies.add(fingerprint)
                self._pending_policies.pop(fingerprint, None)
            return
        store_policy_text(session, loaded)
        self._pending_policies[fingerprint] = id(session)


def store_policy_text(session: Session, loaded: LoadedPolicy) -> PolicyVersion:
    """Insert the policy's text unless its fingerprint is there (another worker may insert
    it at the same moment: that insert wins, this one is dropped)."""
    fingerprint = loaded.policy.fingerprint
    existing = session.get(PolicyVersion, fingerprint)
    if existing is not None:
        return existing
    row = PolicyVersion(
        fingerprint=fingerprint,
        version=loaded.policy.version,
        text=loaded.text,
        text_sha256=hashlib.sha256(loaded.text.encode("utf-8")).hexdigest(),
        source=loaded.source[:500],
        first_used_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = session.get(PolicyVersion, fingerprint)
        assert found is not None
        return found
    return row


def build_engine(
    session: Session, policy: Policy, champion_id: int, challenger_ids: list[int]
) -> DecisionEngine:
    """An engine from registry rows (by id, in this order) and a policy."""
    ids = [champion_id, *challenger_ids]
    rows = {m.id: m for m in session.scalars(select(ModelVersion).where(ModelVersion.id.in_(ids)))}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise PuhuiError(
            f"模型注册表中没有模型 {', '.join(map(str, missing))}",
            f"the model registry has no model {', '.join(map(str, missing))}",
        )

    def spec(model_id: int) -> ModelSpec:
        row = rows[model_id]
        return ModelSpec(row.id, row.kind, row.artefact, row.fingerprint)

    return DecisionEngine(policy, spec(champion_id), [spec(i) for i in challenger_ids])


_DEFAULT: dict[str, DecisionRuntime] = {}
_DEFAULT_LOCK = threading.Lock()


def default_runtime(policy_file: Path | None) -> DecisionRuntime:
    """One runtime per policy file per process (for the CLI and other domains' services)."""
    key = str(policy_file)
    with _DEFAULT_LOCK:
        found = _DEFAULT.get(key)
        if found is None:
            found = _DEFAULT[key] = DecisionRuntime(policy_file)
        return found
