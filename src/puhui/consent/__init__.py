"""Consent: a business authorises one bank to read its data (its profile, later its
application) for a number of days, and may take the authorisation back."""
