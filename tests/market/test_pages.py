"""The financing supermarket pages in Chinese and English: browse, filter, a product, its
white list; and every marked string of the market in both catalogues."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

import puhui.market
from puhui.web.i18n import LOCALE_DIR, LOCALES
from tests.accounts.conftest import fast_hashing  # noqa: F401  (autouse here too)
from tests.accounts.factories import USCCS
from tests.market.factories import make_product, make_run, region_row
from tests.web.conftest import (  # noqa: F401  (fixtures)
    app,
    client,
    csrf_of,
    login,
    people,
)


@pytest.fixture
def products(
    session: Session,
    people: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> dict[str, int]:
    cheap = make_product(
        session, "BANKA", name="小微快贷", rate_min=Decimal("3.45"), popularity=3, instant=True
    )
    house = make_product(
        session,
        "BANKB",
        name="房抵经营贷",
        guarantee="mortgage",
        amount_min=Decimal("100000"),
        amount_max=Decimal("3000000"),
        rate_min=Decimal("4.10"),
        popularity=40,
        min_credit_points=600,
    )
    draft = make_product(session, "BANKA", name="草稿产品", publish=False)
    # The business fits the cheap product and is a near miss of the house one (its credit
    # points are below the minimum).
    make_run(
        session,
        tmp_path,
        region_row(USCCS[0], pre_credit_limit=180_000.0, rate=5.1, credit_points=550.0),
    )
    return {"cheap": cheap.id, "house": house.id, "draft": draft.id}


def shown(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'class="product" data-product="(\d+)"', html)]


def test_the_public_browses_and_filters_in_both_languages(
    client: TestClient,  # noqa: F811
    products: dict[str, int],
) -> None:
    page = client.get("/market")
    assert page.status_code == 200
    assert "融资超市" in page.text
    assert 'name="viewport"' in page.text
    assert set(shown(page.text)) >= {products["cheap"], products["house"]}
    assert products["draft"] not in shown(page.text)
    assert "抵押" in page.text and "秒批" in page.text  # noqa: PT018
    assert "3.45% – 8.00%" in page.text

    mortgage = client.get("/market", params={"guarantee": "mortgage", "amount": "1000000"})
    assert [p for p in shown(mortgage.text) if p in products.values()] == [products["house"]]
    popular = client.get("/market", params={"sort": "popularity", "bank": "BANKB"})
    assert shown(popular.text)[0] == products["house"]
    assert 'value="popularity" selected' in popular.text
    by_rate = [p for p in shown(client.get("/market?sort=rate").text) if p in products.values()]
    assert by_rate == [products["cheap"], products["house"]]
    # Nonsense in the form is ignored, never a 500.
    assert (
        client.get("/market", params={"amount": "lots", "term": "-3", "page": "x"}).status_code
        == 200
    )

    english = client.get("/market?lang=en")
    assert "Financing supermarket" in english.text
    assert "mortgage" in english.text
    assert "融资超市" not in english.text


def test_a_business_sees_why_it_fits_or_not(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
    products: dict[str, int],
) -> None:
    login(client, people["enterprise"])
    fits = client.get(f"/market/products/{products['cheap']}")
    assert fits.status_code == 200
    assert 'data-mine="eligible"' in fits.text
    assert "180,000.00" in fits.text
    misses = client.get(f"/market/products/{products['house']}?lang=en")
    assert 'data-mine="no"' in misses.text
    assert "credit points below the product&#39;s minimum" in misses.text
    assert "Minimum credit points" in misses.text
    assert "White list" not in misses.text
    assert client.get(f"/market/products/{products['draft']}").status_code == 404


def test_a_bank_reads_its_white_list_and_withdraws_its_product(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
    products: dict[str, int],
) -> None:
    login(client, people["bank_admin"])
    detail = client.get(f"/market/products/{products['cheap']}")
    assert "白名单" in detail.text
    white = client.get(f"/market/products/{products['cheap']}/white-list")
    assert white.status_code == 200
    assert f'data-uscc="{USCCS[0]}"' in white.text
    assert "180,000.00" in white.text
    assert (
        "Pre-credit limit (yuan)"
        in client.get(f"/market/products/{products['cheap']}/white-list?lang=en").text
    )
    # Another bank's white list is refused, as a page.
    refused = client.get(f"/market/products/{products['house']}/white-list")
    assert refused.status_code == 403
    assert "text/html" in refused.headers["content-type"]
    # Withdraw needs the CSRF token.
    no_token = client.post(f"/market/products/{products['cheap']}/withdraw")
    assert no_token.status_code == 403
    done = client.post(
        f"/market/products/{products['cheap']}/withdraw",
        data={"csrf_token": csrf_of(detail.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert products["cheap"] not in shown(client.get("/market?bank=BANKB").text)
    home = client.get("/")
    assert 'href="/market"' in home.text


def test_white_list_page_asks_to_sign_in(client: TestClient, products: dict[str, int]) -> None:  # noqa: F811
    done = client.get(f"/market/products/{products['cheap']}/white-list", follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"].startswith("/login?next=")


def test_every_market_string_is_in_both_catalogues() -> None:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    directory = Path(puhui.market.__file__).parent
    marked = {
        message
        for _f, _l, message, _c, _x in extract_from_dir(directory, method_map)
        if isinstance(message, str)
    }
    assert "Financing supermarket" in marked
    for locale in LOCALES:
        with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
            catalogue = {m.id: m.string for m in read_po(handle) if isinstance(m.id, str)}
        assert not marked - set(catalogue), sorted(marked - set(catalogue))
        if locale == "zh_CN":
            assert all(catalogue[m] for m in marked)


# --------------------------------------------------------------------------- new product


def _new_product_form(browser: TestClient, **fields: str | list[str]) -> dict[str, object]:
    page = browser.get("/market/products/new")
    assert page.status_code == 200, page.text
    form: dict[str, object] = {
        "csrf_token": csrf_of(page.text),
        "name": "科创积分贷",
        "amount_min": "50000",
        "amount_max": "3000000",
        "term_min": "6",
        "term_max": "36",
        "rate_min": "3.45",
        "rate_max": "4.80",
        "guarantee": "credit",
        "entity_types": ["enterprise"],
        "industries": "13，39 ",
        "max_pd": "8",
        "exclude_dishonest": "on",
    }
    form.update(fields)
    return form


def test_a_bank_admin_adds_a_draft_product_from_the_form(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
    session: Session,
) -> None:
    from puhui.market.models import Product

    login(client, people["bank_admin"])
    assert "/market/products/new" in client.get("/market").text
    done = client.post(
        "/market/products/new",
        data=_new_product_form(client, bank="BANKB"),  # a bank admin adds for its own bank
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    product = session.get(Product, int(done.headers["location"].rsplit("/", 1)[1]))
    assert product is not None
    assert (product.bank_code, product.status, product.name) == ("BANKA", "draft", "科创积分贷")
    assert product.industries == ["13", "39"]
    assert product.entity_types == ["enterprise"]
    assert product.max_pd == pytest.approx(0.08)
    assert product.amount_max == Decimal("3000000.00")
    assert product.exclude_dishonest
    assert not product.exclude_abnormal
    assert not product.instant


def test_a_wrong_form_names_each_field_and_keeps_what_was_typed(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
) -> None:
    login(client, people["bank_admin"])
    form = _new_product_form(client, amount_min="abc", industries="1x")
    done = client.post("/market/products/new", data=form)
    assert done.status_code == 400
    assert "请更正以下各项" in done.text
    assert "最低贷款额（元）" in done.text  # amount_min is not a number
    assert "<li>行业大类:" in done.text  # "1x" is not a two-digit division
    ranges = client.post("/market/products/new", data=_new_product_form(client, rate_max="2.00"))
    assert ranges.status_code == 400
    assert "<li>金额、期限和利率:" in ranges.text  # the highest rate is below the lowest
    assert 'value="科创积分贷"' in done.text  # nothing typed is lost
    assert 'value="abc"' in done.text
    assert "Traceback" not in done.text


def test_only_bank_admins_and_the_operator_add_products(
    client: TestClient,  # noqa: F811
    people: dict[str, str],  # noqa: F811
) -> None:
    login(client, people["bank_officer"])
    assert client.get("/market/products/new").status_code == 403
    assert "/market/products/new" not in client.get("/market").text
