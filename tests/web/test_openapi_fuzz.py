"""schemathesis against the app's own OpenAPI: no 5xx, no status the document does not list.

Every operation under ``/api/v1`` is called with generated data (valid and invalid), as an
anonymous caller and with the bearer token of a user of each kind that sees the most (the
operator, a bank officer, a business), on the test's database (SQLite; the same app runs on
PostgreSQL in the other API tests). Two checks: ``not_a_server_error`` and
``status_code_conformance``. The examples per operation are kept small so that the whole
document runs in a minute or two; a failure prints the request that reproduces it.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance

from tests.web.conftest import token

EXAMPLES = 15
ROLES = ("operator", "bank_officer", "enterprise")


def test_no_server_error_and_no_undocumented_status(
    app: FastAPI, people: dict[str, str], db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the fuzzing runs once, on SQLite")
    with TestClient(app) as client:
        tokens = {role: token(client, people[role]) for role in ROLES}
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    checks = [not_a_server_error, status_code_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20, "the document lists the API's operations"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def calls(case: Any) -> None:
            case.call_and_validate(checks=checks)
            for role in ROLES:
                headers = {"Authorization": f"Bearer {tokens[role]}"}
                case.call_and_validate(headers=headers, checks=checks)

        calls()
