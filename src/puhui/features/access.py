"""Who may read a business's profile (画像), which sections, and the audit of every read.

The rule of issue #7: the business itself, the platform's operators and government read
the whole profile; a bank (its officers, admins, customer managers and its system) reads
only with a live consent of the business for that bank, and only the sections its live
consents name (:data:`~puhui.features.profile.PROFILE_SECTIONS`); anyone else is refused.
**Every** attempt, allowed or refused, is written to the audit log (action
``profile.read``) in the caller's transaction, with the outcome, on what ground it was
allowed, the consents used and the sections shown.

Access is decided before the profile is looked up, and a refusal is a 404 like a missing
profile, so a refused reader cannot learn whether a business has a profile at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from puhui.accounts.actor import ROLES_WITH_BANK, Actor, Role
from puhui.accounts.service import record
from puhui.consent.service import SCOPE_PROFILE, live_consents, union_sections
from puhui.errors import PuhuiError
from puhui.features.models import Profile
from puhui.features.profile import PROFILE_SECTIONS
from puhui.features.service import ProfileView, get_profile

Outcome = Literal["allowed", "refused", "not_found"]
#: Ground on which a read is allowed.
Basis = Literal["self", "operator", "government", "consent"]
#: Keys of a profile document that are not sections and go with every read.
DOCUMENT_META = ("as_of",)


class ProfileAccessDeniedError(PuhuiError):
    """The actor may not read this profile (HTTP 404, like a missing one: a refusal does
    not tell whether the business has a profile)."""

    http_status = 404

    def __init__(self) -> None:
        super().__init__(
            "没有您可查看的该企业画像：银行须先获得企业的有效授权",
            "no profile of this business that you may read: a bank needs the business's "
            "live consent first",
        )


class ProfileNotFoundError(PuhuiError):
    """No published profile for the uscc (HTTP 404)."""

    http_status = 404

    def __init__(self, uscc: str) -> None:
        super().__init__(f"企业 {uscc} 没有已发布的画像", f"no published profile for {uscc}")


@dataclass(frozen=True)
class ProfileRead:
    """The result of one attempt to read a profile; already written to the audit log.

    ``sections`` are the sections the reader may see (every one for a free reader, those
    of its live consents for a bank; none when refused); ``profile`` holds only those.
    ``consent_id`` is the consent that lasts longest, ``consent_ids`` every live consent
    used.
    """

    uscc: str
    outcome: Outcome
    basis: Basis | None
    profile: ProfileView | None
    consent_id: int | None = None
    sections: tuple[str, ...] = ()
    consent_ids: tuple[int, ...] = ()

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


@dataclass(frozen=True)
class _Grounds:
    basis: Basis | None
    sections: tuple[str, ...] = ()
    consent_ids: tuple[int, ...] = ()


def _grounds(session: Session, actor: Actor, uscc: str, at: datetime | None) -> _Grounds:
    """On what ground ``actor`` may read the profile of ``uscc`` (basis None: it may not),
    which sections, and the consents used (the longest-lasting first)."""
    if actor.role is Role.ENTERPRISE and actor.kind == "user":
        return _Grounds("self", PROFILE_SECTIONS) if actor.uscc == uscc else _Grounds(None)
    if actor.role is Role.OPERATOR and actor.kind != "client":
        return _Grounds("operator", PROFILE_SECTIONS)
    if actor.role is Role.GOVERNMENT and actor.kind == "user":
        return _Grounds("government", PROFILE_SECTIONS)
    if actor.role in ROLES_WITH_BANK and actor.bank_code:
        consents = live_consents(session, actor.bank_code, uscc, SCOPE_PROFILE, at)
        if consents:
            ids = tuple(consent.id for consent in consents)
            return _Grounds("consent", union_sections(consents), ids)
    return _Grounds(None)


def only_sections(view: ProfileView, sections: tuple[str, ...]) -> ProfileView:
    """``view`` with only ``sections`` of its document (and :data:`DOCUMENT_META`)."""
    if sections == PROFILE_SECTIONS:
        return view
    keep = {*DOCUMENT_META, *sections}
    return replace(view, document={k: v for k, v in view.document.items() if k in keep})


def attempt_profile_read(
    session: Session, actor: Actor, uscc: str, at: datetime | None = None
) -> ProfileRead:
    """Decide, look up and audit one read of ``uscc``'s profile; never raises for a refusal.

    HTTP layers use this and answer the error themselves, so that the audit row of a
    refused read is committed with the request (raising would roll it back).
    """
    uscc = uscc.strip().upper()
    grounds = _grounds(session, actor, uscc, at)
    basis = grounds.basis
    found = get_profile(session, uscc) if basis is not None else None
    outcome: Outcome = "refused" if basis is None else "not_found" if found is None else "allowed"
    detail: dict[str, object] = {"outcome": outcome}
    if basis is not None:
        detail["basis"] = basis
    consent_id = grounds.consent_ids[0] if grounds.consent_ids else None
    if consent_id is not None:
        detail["consent_id"] = consent_id
        detail["consent_ids"] = list(grounds.consent_ids)
    sections = grounds.sections if outcome == "allowed" else ()
    if outcome == "allowed":
        detail["sections"] = list(sections)
    record(session, actor, "profile.read", "profile", uscc, detail)
    profile = only_sections(found, sections) if found is not None and sections else None
    return ProfileRead(uscc, outcome, basis, profile, consent_id, sections, grounds.consent_ids)


def read_profile(
    session: Session, actor: Actor, uscc: str, at: datetime | None = None
) -> ProfileView:
    """The profile of ``uscc`` as ``actor`` may read it (only the sections it may see):
    :class:`ProfileAccessDeniedError` (404) when it may not read it at all,
    :class:`ProfileNotFoundError` (404) when there is none. Always audited."""
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


def profile_usccs(
    session: Session,
    *,
    industries: list[str] | None = None,
    districts: list[str] | None = None,
    entity_types: list[str] | None = None,
) -> list[str]:
    """The usccs of the published profiles that match every filter given, in uscc order.

    ``industries`` are GB/T 4754 divisions (2 digits, the first two of the industry code)
    or longer code prefixes; ``districts`` county-level division codes; ``entity_types``
    ``enterprise`` / ``individual`` / ``coop``. An empty or missing filter does not narrow.
    Only register data is read (no document), for government lists defined by a filter.
    """
    from sqlalchemy import or_

    statement = select(Profile.uscc).order_by(Profile.uscc)
    if industries:
        statement = statement.where(
            or_(*(Profile.industry_code.startswith(code, autoescape=True) for code in industries))
        )
    if districts:
        statement = statement.where(Profile.district.in_(districts))
    if entity_types:
        statement = statement.where(Profile.entity_type.in_(entity_types))
    return [str(uscc) for uscc in session.scalars(statement)]
