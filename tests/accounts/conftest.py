"""Cheap argon2 parameters for tests that only need *a* hash (one test checks the real ones)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

import puhui.accounts.service as service


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
