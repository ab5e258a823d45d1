"""The application pages (SQLite and PostgreSQL): apply from a product through the consent
screen, the confirmation with the tracking number, my applications, the bank's order pool
and review page, the public tracking page; and every marked string in both catalogues."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

import puhui.applications
from puhui.accounts.service import utcnow
from puhui.web.i18n import LOCALE_DIR, LOCALES
from tests.accounts.factories import USCCS
from tests.applications.factories import PHONE
from tests.features.factories import make_profile
from tests.market.factories import make_product
from tests.web.conftest import (  # noqa: F401  (fixtures)
    app,
    client,
    csrf_of,
    login,
    people,
)

FORM = {"amount": "150,000", "term_months": "12", "purpose": "采购原材料", "contact_phone": PHONE}


@pytest.fixture
def product_id(session: Session, people: dict[str, str]) -> int:  # noqa: F811
    make_profile(session, USCCS[0], "台州测试贸易有限公司")
    return make_product(session, "BANKA", name="小微快贷").id


def submit(client: TestClient, product: int | str = "", **extra: object) -> str:  # noqa: F811
    """Fill the form and the consent screen; the new application's page."""
    form = client.get(f"/apply?product={product}")
    assert form.status_code == 200, form.text
    screen = client.post(
        "/apply", data={**FORM, "product_id": product, "csrf_token": csrf_of(form.text)}
    )
    assert screen.status_code == 200, screen.text
    fields = dict(re.findall(r'type="hidden" name="([a-z_]+)" value="([^"]*)"', screen.text))
    done = client.post(
        "/apply/confirm",
        data={**fields, "sections": ["registration", "operations"], "agree": "yes", **extra},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert re.fullmatch(r"/applications/\d+\?new=1", done.headers["location"])
    return client.get(done.headers["location"]).text


def number_of(html: str) -> str:
    found = re.search(r"data-number>(PH\w+)<", html)
    assert found, "no tracking number on the page"
    return found.group(1)


def test_a_business_applies_from_a_product_through_the_consent_screen(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
    product_id: int,
) -> None:
    login(client, people["enterprise"])
    product = client.get(f"/market/products/{product_id}")
    assert f'href="/apply?product={product_id}"' in product.text
    form = client.get(f"/apply?product={product_id}")
    assert "小微快贷" in form.text
    assert "甲银行" in form.text
    token = csrf_of(form.text)

    wrong = client.post(
        "/apply",
        data={**FORM, "amount": "5000", "product_id": product_id, "csrf_token": token},
    )
    assert wrong.status_code == 400
    assert "amount" in wrong.text or "金额" in wrong.text
    assert 'value="采购原材料"' not in wrong.text  # textarea keeps it as content
    assert "采购原材料</textarea>" in wrong.text  # what was right is kept
    assert f'value="{PHONE}"' in wrong.text

    screen = client.post("/apply", data={**FORM, "product_id": product_id, "csrf_token": token})
    assert screen.status_code == 200
    assert "data-consent-screen" in screen.text
    assert "甲银行" in re.search(r"data-bank>([^<]+)<", screen.text).group(1)  # type: ignore[union-attr]
    expires = (utcnow() + timedelta(days=90)).strftime("%Y-%m-%d")
    assert expires in screen.text
    assert 'href="/consents"' in screen.text
    assert screen.text.count('name="sections"') == 7
    fields = dict(re.findall(r'type="hidden" name="([a-z_]+)" value="([^"]*)"', screen.text))
    assert fields["amount"] == "150000.00"
    assert fields["contact_phone"] == PHONE

    unticked = client.post("/apply/confirm", data={**fields, "sections": ["risk"]})
    assert unticked.status_code == 400  # not authorised: nothing written
    assert client.get("/api/v1/applications").json()["total"] == 0

    page = submit(client, product_id)
    assert "data-confirmation" in page
    assert "138****5678" in page
    assert PHONE not in page
    mine = client.get("/applications")
    assert number_of(page) in mine.text
    assert mine.text.count('class="tracker"') == 1
    assert 'data-stage="submitted" data-state="current"' in mine.text
    consents = client.get("/consents")
    assert "BANKA" in consents.text


def test_the_bank_claims_from_the_pool_and_reviews(
    app: FastAPI,  # noqa: F811
    people: dict[str, str],  # noqa: F811
    product_id: int,
) -> None:
    with TestClient(app) as shop, TestClient(app) as bank_a, TestClient(app) as bank_b:
        login(shop, people["enterprise"])
        number = number_of(submit(shop))
        login(bank_a, people["bank_officer"])
        login(bank_b, people["other_bank"])

        pool = bank_b.get("/applications/pool")
        assert pool.status_code == 200
        assert number in pool.text
        assert "150,000.00" in pool.text
        for secret in (USCCS[0], PHONE, "138****5678", "台州测试贸易"):
            assert secret not in pool.text
        app_id = int(re.search(r'data-application="(\d+)"', pool.text).group(1))  # type: ignore[union-attr]

        claimed = bank_a.post(
            f"/applications/{app_id}/claim",
            data={"csrf_token": csrf_of(bank_a.get("/applications/pool").text)},
            follow_redirects=False,
        )
        assert claimed.status_code == 303
        late = bank_b.post(f"/applications/{app_id}/claim", data={"csrf_token": csrf_of(pool.text)})
        assert late.status_code == 409
        assert "其他银行" in late.text
        assert bank_b.get(f"/applications/{app_id}").status_code == 404

        review = bank_a.get(f"/applications/{app_id}")
        assert review.status_code == 200
        assert "data-review" in review.text
        assert "台州测试贸易有限公司" in review.text
        assert 'data-step="under_review"' in review.text
        assert "data-chart" in review.text  # operations were authorised
        token = csrf_of(review.text)
        for to in ("under_review",):
            moved = bank_a.post(
                f"/applications/{app_id}/transition",
                data={"to": to, "csrf_token": token},
                follow_redirects=False,
            )
            assert moved.status_code == 303
        refused = bank_a.post(
            f"/applications/{app_id}/transition",
            data={"to": "approved", "approved_rate": "abc", "csrf_token": token},
        )
        assert refused.status_code == 400
        assert "approved_rate" in refused.text
        approved = bank_a.post(
            f"/applications/{app_id}/transition",
            data={"to": "approved", "approved_rate": "4.35", "csrf_token": token},
            follow_redirects=False,
        )
        assert approved.status_code == 303
        forged = bank_a.post(f"/applications/{app_id}/transition", data={"to": "disbursed"})
        assert forged.status_code == 403  # no CSRF token

        own = shop.get(f"/applications/{app_id}")
        assert 'data-step="contract_signed"' in own.text
        assert 'data-step="withdrawn"' in own.text
        assert 'data-stage="approved" data-state="current"' in own.text


def test_the_public_tracking_page(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
    product_id: int,
) -> None:
    login(client, people["enterprise"])
    number = number_of(submit(client, product_id))
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})
    assert client.get("/applications", follow_redirects=False).status_code == 303

    page = client.get(f"/track/{number}")
    assert page.status_code == 200
    assert "甲银行" in page.text
    assert "小微快贷" in page.text
    assert page.text.count("data-stage=") >= 6
    for secret in (USCCS[0], PHONE, "138****5678", "150,000", "采购原材料", "台州测试贸易"):
        assert secret not in page.text
    lookup = client.get(f"/track?number={number.lower()}", follow_redirects=False)
    assert lookup.status_code == 303
    assert lookup.headers["location"] == f"/track/{number}"
    unknown = client.get("/track/PH20260101ABCDEFGH")
    assert unknown.status_code == 404
    assert 'name="number"' in unknown.text
    english = client.get(f"/track/{number}?lang=en")
    assert "Submitted" in english.text or "submitted" in english.text


def test_who_may_see_the_pool_page(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
) -> None:
    login(client, people["enterprise"])
    assert client.get("/applications/pool").status_code == 403
    assert client.get("/apply").status_code == 200


def test_every_applications_string_is_in_both_catalogues() -> None:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    directory = Path(puhui.applications.__file__).parent
    marked = {
        message
        for _f, _l, message, _c, _x in extract_from_dir(directory, method_map)
        if isinstance(message, str)
    }
    assert "Order pool" in marked
    for locale in LOCALES:
        catalogue: dict[str, str] = {}
        for name in ("messages.po", "applications.po"):
            with (LOCALE_DIR / locale / "LC_MESSAGES" / name).open("rb") as handle:
                catalogue.update({m.id: m.string for m in read_po(handle) if isinstance(m.id, str)})
        assert not marked - set(catalogue), sorted(marked - set(catalogue))
        if locale == "zh_CN":
            assert all(catalogue[m] for m in marked), [m for m in marked if not catalogue[m]]
