"""Test data for consents: granted through the service, as a business would."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from unittest import mock

from sqlalchemy.orm import Session

from puhui.accounts.actor import Actor
from puhui.accounts.service import utcnow
from puhui.consent.models import Consent
from puhui.consent.service import grant, revoke


def make_consent(
    session: Session,
    uscc: str,
    bank: str = "BANKA",
    days: int = 30,
    *,
    expired: bool = False,
    revoked: bool = False,
    sections: Iterable[str] | None = None,
) -> Consent:
    """A consent granted by the platform for ``uscc``, through the service, so that the
    ledger and the projection agree: ``expired`` grants it ``days + 1`` days ago (the
    service's clock set back), ``revoked`` takes it back now."""
    platform = Actor.system("test")
    if expired:
        past = utcnow() - timedelta(days=days + 1)
        with mock.patch("puhui.consent.service.utcnow", return_value=past):
            consent = grant(session, platform, bank, days, uscc=uscc, sections=sections)
    else:
        consent = grant(session, platform, bank, days, uscc=uscc, sections=sections)
    if revoked:
        revoke(session, platform, consent.id)
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
