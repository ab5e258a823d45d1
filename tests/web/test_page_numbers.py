"""Every HTML list page takes its page number from one validated query parameter."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import login

# (role that may open the page, path)
LIST_PAGES = [
    ("enterprise", "/applications"),
    ("bank_officer", "/applications/pool"),
    ("enterprise", "/consents"),
    ("operator", "/notices"),
    ("government", "/govlists"),
]


@pytest.mark.parametrize(("role", "path"), LIST_PAGES)
@pytest.mark.parametrize("page", ["0", "-3", "1000001", "99999999999999999999", "two"])
def test_a_page_number_out_of_range_is_a_clear_422_page(
    client: TestClient, people: dict[str, str], role: str, path: str, page: str
) -> None:
    login(client, people[role])
    answer = client.get(path, params={"page": page}, headers={"Accept": "text/html"})
    assert answer.status_code == 422
    assert "text/html" in answer.headers["content-type"]
    assert "page" in answer.text
    assert "Traceback" not in answer.text


@pytest.mark.parametrize(("role", "path"), LIST_PAGES)
def test_a_page_past_the_end_is_an_empty_page(
    client: TestClient, people: dict[str, str], role: str, path: str
) -> None:
    login(client, people[role])
    answer = client.get(path, params={"page": "1000000"}, headers={"Accept": "text/html"})
    assert answer.status_code == 200, answer.text[:500]
