"""Fast password hashing for every applications test (the accounts tests check the real one)."""

from __future__ import annotations

from tests.accounts.conftest import fast_hashing  # noqa: F401  (autouse here too)
