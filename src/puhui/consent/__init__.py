"""Consent: a business authorises one bank to read its data (the sections it names of its
profile, later its application) for a number of days, and may take the authorisation back.

``consents`` holds the current state; ``consent_ledger`` the hash-chained, append-only
record of every grant and revoke (docs/consent.md).
"""
