"""Cheap password hashing for the users these tests make, and the web app's fixtures."""

from __future__ import annotations

from tests.accounts.conftest import fast_hashing  # noqa: F401  (autouse here too)
from tests.web.conftest import app, bank_client, client, people  # noqa: F401  (fixtures)
