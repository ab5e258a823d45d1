"""Test data for consents: granted through the service, as a business would."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor
from puhui.consent.models import Consent
from puhui.consent.service import grant


def make_consent(
    session: Session,
    uscc: str,
    bank: str = "BANKA",
    days: int = 30,
    *,
    expired: bool = False,
    revoked: bool = False,
) -> Consent:
    """A consent granted by the platform for ``uscc``; ``expired`` moves it into the past,
    ``revoked`` takes it back now."""
    consent = grant(session, Actor.system("test"), bank, days, uscc=uscc)
    if expired:
        consent.granted_at -= timedelta(days=days + 1)
        consent.expires_at -= timedelta(days=days + 1)
    if revoked:
        consent.revoked_at = consent.granted_at
    session.flush()
    return consent


#: The businesses of :func:`make_parties`: the one the tests read about, and another.
BUSINESS = "91110000600037341L"
OTHER_BUSINESS = "91331002123456788L"


def make_parties(session: Session) -> dict[str, Actor]:
    """Two banks and one actor of each kind around one business; name → actor.

    ``business`` speaks for :data:`BUSINESS`, ``other_business`` for
    :data:`OTHER_BUSINESS`; ``officer``, ``admin``, ``manager`` and ``system`` act for
    BANKA; ``other_bank`` for BANKB.
    """
    from puhui.accounts.service import actor_for_client, actor_for_user
    from tests.accounts.factories import make_bank, make_client, make_user

    make_bank(session, "BANKA", "甲银行")
    make_bank(session, "BANKB", "乙银行")
    users = {
        "operator": make_user(session, "operator"),
        "government": make_user(session, "government"),
        "business": make_user(session, "enterprise", uscc=BUSINESS),
        "other_business": make_user(session, "enterprise", uscc=OTHER_BUSINESS),
        "officer": make_user(session, "bank_officer", bank="BANKA"),
        "admin": make_user(session, "bank_admin", bank="BANKA"),
        "manager": make_user(session, "customer_manager", bank="BANKA"),
        "other_bank": make_user(session, "bank_officer", bank="BANKB"),
    }
    parties = {name: actor_for_user(user) for name, user in users.items()}
    parties["system"] = actor_for_client(make_client(session, "BANKA").client)
    parties["platform"] = Actor.system("test")
    return parties
