"""Government list pages in Chinese and English: government creates, uploads (bad rows shown
with their row numbers), defines, pushes and tracks; a bank reads the lists pushed to it;
every marked string of the domain is in both of its catalogues."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

import puhui.govlists
import puhui.service_report
from puhui.web.i18n import LOCALE_DIR, LOCALES
from tests.accounts.conftest import fast_hashing  # noqa: F401  (autouse here too)
from tests.govlists.factories import make_list, make_profile, uscc
from tests.web.conftest import (  # noqa: F401  (fixtures)
    app,
    client,
    csrf_of,
    login,
    people,
)


def test_government_walks_a_list_through_its_life(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
    session: Session,
) -> None:
    login(client, people["government"])
    page = client.get("/govlists")
    assert page.status_code == 200
    assert "政府名单" in page.text
    assert "新建名单" in page.text
    csrf = csrf_of(page.text)

    bad = client.post(
        "/govlists",
        data={"code": "坏代码", "name": "x", "kind": "tech", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert bad.status_code == 400
    assert "名单代码" in bad.text
    assert 'value="坏代码"' in bad.text  # what was typed is kept

    made = client.post(
        "/govlists",
        data={"code": "KJ", "name": "科技型企业", "kind": "tech", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert made.headers["location"] == "/govlists/KJ"

    content = f"统一社会信用代码\n{uscc(1)}\n913310021234\n{uscc(2)}\n".encode()
    uploaded = client.post(
        "/govlists/KJ/upload",
        data={"csrf_token": csrf},
        files={"file": ("名单.csv", content, "text/csv")},
    )
    assert uploaded.status_code == 200
    assert re.search(r'<tr data-row="2"><td>2</td><td>913310021234</td>', uploaded.text)
    assert "应为18位" in uploaded.text
    assert f'data-uscc="{uscc(1)}"' in uploaded.text

    make_profile(session, uscc(3), district="331099")
    defined = client.post("/govlists/KJ/define", data={"districts": "331099", "csrf_token": csrf})
    assert "新加入 1 户" in defined.text
    no_warehouse = client.post("/govlists/KJ/define", data={"tiers": "growth", "csrf_token": csrf})
    assert no_warehouse.status_code == 503
    assert "数仓" in no_warehouse.text

    pushed = client.post(
        "/govlists/KJ/push", data={"banks": "BANKA", "csrf_token": csrf}, follow_redirects=False
    )
    assert pushed.status_code == 303
    detail = client.get("/govlists/KJ")
    assert 'data-status="pushed"' in detail.text
    tracking = client.get("/govlists/KJ/tracking?lang=en")
    assert tracking.status_code == 200
    assert "No member has applied since the list was made." in tracking.text

    no_token = client.post("/govlists/KJ/archive", follow_redirects=False)
    assert no_token.status_code == 403


def test_a_bank_reads_only_the_lists_pushed_to_it(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
    session: Session,
) -> None:
    make_list(session, "MINE", members=[uscc(1)], banks=["BANKA"])
    make_list(session, "THEIRS", members=[uscc(2)], banks=["BANKB"])
    login(client, people["bank_officer"])
    index = client.get("/govlists?lang=en")
    assert 'data-govlist="MINE"' in index.text
    assert "THEIRS" not in index.text
    assert "New list" not in index.text
    mine = client.get("/govlists/MINE")
    assert f'data-uscc="{uscc(1)}"' in mine.text
    assert "上传名单" not in mine.text  # no forms for a bank
    assert client.get("/govlists/THEIRS").status_code == 404
    csrf = csrf_of(mine.text)
    refused = client.post(
        "/govlists/MINE/push", data={"banks": "BANKA", "csrf_token": csrf}, follow_redirects=False
    )
    assert refused.status_code == 403


def _marked(package: object) -> set[str]:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    directory = Path(package.__file__).parent  # type: ignore[attr-defined]
    return {
        message
        for _f, _l, message, _c, _x in extract_from_dir(directory, method_map)
        if isinstance(message, str)
    }


def test_every_string_of_the_two_domains_is_in_their_catalogues() -> None:
    for package, domain, sample in (
        (puhui.govlists, "govlists", "Government lists"),
        (puhui.service_report, "service_report", "Bank service report"),
    ):
        marked = _marked(package)
        assert sample in marked
        for locale in LOCALES:
            catalogue: dict[str, str] = {}
            for name in ("messages.po", f"{domain}.po"):
                with (LOCALE_DIR / locale / "LC_MESSAGES" / name).open("rb") as handle:
                    catalogue.update(
                        {m.id: m.string for m in read_po(handle) if isinstance(m.id, str)}
                    )
            assert not marked - set(catalogue), sorted(marked - set(catalogue))
            if locale == "zh_CN":
                assert all(catalogue[m] for m in marked), [m for m in marked if not catalogue[m]]
