"""Who may read a business's profile (画像), and the audit of every read.

The rule of issue #7: the business itself, the platform's operators and government read
freely; a bank (its officers, admins, customer managers and its system) reads only with a
live consent of the business for that bank; anyone else is refused. **Every** attempt,
allowed or refused, is written to the audit log (action ``profile.read``) in the caller's
transaction, with the outcome and on what ground it was allowed.

Access is decided before the profile is looked up, so a refused reader cannot learn
whether a business has a profile at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from puhui.accounts.actor import ROLES_WITH_BANK, Actor, Role
from puhui.accounts.service import record
from puhui.consent.service import SCOPE_PROFILE, live_consent
from puhui.errors import PuhuiError
from puhui.features.models import Profile
from puhui.features.service import ProfileView, get_profile

Outcome = Literal["allowed", "refused", "not_found"]
#: Ground on which a read is allowed.
Basis = Literal["self", "operator", "government", "consent"]


class ProfileAccessDeniedError(PuhuiError):
    """The actor may not read this profile (HTTP 403)."""

    http_status = 403

    def __init__(self) -> None:
        super().__init__(
            "您无权查看该企业画像：银行须先获得企业授权",
            "you may not read this profile: a bank needs the business's consent first",
        )


class ProfileNotFoundError(PuhuiError):
    """No published profile for the uscc (HTTP 404)."""

    http_status = 404

    def __init__(self, uscc: str) -> None:
        super().__init__(f"企业 {uscc} 没有已发布的画像", f"no published profile for {uscc}")


@dataclass(frozen=True)
class ProfileRead:
    """The result of one attempt to read a profile; already written to the audit log."""

    uscc: str
    outcome: Outcome
    basis: Basis | None
    profile: ProfileView | None
    consent_id: int | None = None

    @property
    def error(self) -> PuhuiError | None:
        """The error to show for a refused or missing read, None when allowed."""
        if self.outcome == "refused":
            return ProfileAccessDeniedError()
        if self.outcome == "not_found":
            return ProfileNotFoundError(self.uscc)
        return None

    def unwrap(self) -> ProfileView:
        """The profile, or the error raised."""
        error = self.error
        if error is not None:
            raise error
        assert self.profile is not None
        return self.profile


def _basis(
    session: Session, actor: Actor, uscc: str, at: datetime | None
) -> tuple[Basis | None, int | None]:
    """On what ground ``actor`` may read the profile of ``uscc`` (None: it may not), and the
    consent used."""
    if actor.role is Role.ENTERPRISE and actor.kind == "user":
        return ("self" if actor.uscc == uscc else None), None
    if actor.role is Role.OPERATOR and actor.kind != "client":
        return "operator", None
    if actor.role is Role.GOVERNMENT and actor.kind == "user":
        return "government", None
    if actor.role in ROLES_WITH_BANK and actor.bank_code:
        consent = live_consent(session, actor.bank_code, uscc, SCOPE_PROFILE, at)
        if consent is not None:
            return "consent", consent.id
    return None, None


def attempt_profile_read(
    session: Session, actor: Actor, uscc: str, at: datetime | None = None
) -> ProfileRead:
    """Decide, look up and audit one read of ``uscc``'s profile; never raises for a refusal.

    HTTP layers use this and answer the error themselves, so that the audit row of a
    refused read is committed with the request (raising would roll it back).
    """
    uscc = uscc.strip().upper()
    basis, consent_id = _basis(session, actor, uscc, at)
    profile = get_profile(session, uscc) if basis is not None else None
    outcome: Outcome = "refused" if basis is None else "not_found" if profile is None else "allowed"
    detail: dict[str, object] = {"outcome": outcome}
    if basis is not None:
        detail["basis"] = basis
    if consent_id is not None:
        detail["consent_id"] = consent_id
    record(session, actor, "profile.read", "profile", uscc, detail)
    return ProfileRead(uscc, outcome, basis, profile, consent_id)


def read_profile(
    session: Session, actor: Actor, uscc: str, at: datetime | None = None
) -> ProfileView:
    """The profile of ``uscc`` as ``actor`` may read it: :class:`ProfileAccessDeniedError` (403)
    when it may not, :class:`ProfileNotFoundError` (404) when there is none. Always audited."""
    return attempt_profile_read(session, actor, uscc, at).unwrap()


def profile_names(session: Session, usccs: list[str]) -> dict[str, str]:
    """The registered names of the businesses with a published profile, by uscc.

    Only names (public register data), for lists of a bank's consents; no document.
    """
    if not usccs:
        return {}
    rows = session.execute(
        select(Profile.uscc, Profile.name).where(Profile.uscc.in_(set(usccs)))
    ).all()
    return {str(uscc): str(name) for uscc, name in rows}
