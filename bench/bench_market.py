"""Financing supermarket at scale: 500 products against 1,000,000 businesses.

The 100,000-business region of ``bench_scoring`` (simulated, ingested, linked, featured
once and cached in /tmp) is trained and scored with the platform's champion; its feature
and score rows are then repeated, with distinct uscc, to ``ENTITIES`` businesses (matching
cost depends on the rows, not on where they came from). 500 products of 25 banks are
published in a fresh PostgreSQL schema (or SQLite with ``--sqlite``), each with targeting
and eligibility rules drawn at random (seeded). Timed:

* ``match pass``: every (business, product) pair through the vectorised core
  (``matching.match_chunks``), reading the warehouse in batches — the work a refresh does
  before it stores anything;
* ``refresh``: ``refresh_matches`` end to end — the match pass plus storing the white lists
  and near misses in the app database, committed;
* latencies (p50 / p95 / p99 of ``REPEATS`` calls of the service, as the API runs it):
  product search (``list_products`` with amount, guarantee and rate filters, sorted by
  rate), a business's ranked products (``business_products``, first page), a product's
  white list (``list_matches``, first page; largest limit first).

Run: ``python bench/bench_market.py [ENTITIES] [--dir DELIVERY] [--sqlite]``.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text

from puhui.accounts.actor import Actor, Role
from puhui.accounts.models import Bank
from puhui.accounts.service import utcnow
from puhui.db import make_engine, session_factory, unit_of_work, upgrade
from puhui.ingest.warehouse import connect
from puhui.market import matching
from puhui.market.models import Product
from puhui.market.schemas import ProductFilters, ProductIn
from puhui.market.service import (
    _inputs_sql,
    business_products,
    businesses_of,
    create_product,
    list_matches,
    list_products,
    product_rules,
    publish_product,
    refresh_matches,
)
from puhui.pagination import PageRequest
from puhui.scoring.policy import load_policy
from puhui.scoring.service import score_region, train_models
from regions import AS_OF, delivery_dir, print_row

PRODUCTS = 500
BANKS = 25
REPEATS = 300
KEY = b"bench-key"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
GUARANTEES = ("credit", "guarantee", "mortgage", "pledge")


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def product_specs(
    rng: random.Random, divisions: list[str], districts: list[str]
) -> list[ProductIn]:
    """``PRODUCTS`` products with the mix of rules a supermarket has: most open to any
    business type, some for a few industries or districts, thresholds on score, PD, age."""
    specs = []
    for k in range(PRODUCTS):
        low = rng.choice([10_000, 50_000, 100_000, 300_000])
        rate_min = round(rng.uniform(3.2, 6.0), 2)
        specs.append(
            ProductIn(
                bank=f"B{k % BANKS:02d}",
                name=f"产品 {k}",
                amount_min=Decimal(low),
                amount_max=Decimal(low * rng.choice([5, 10, 30])),
                term_min=rng.choice([1, 3, 6]),
                term_max=rng.choice([12, 24, 36]),
                rate_min=Decimal(str(rate_min)),
                rate_max=Decimal(str(round(rate_min + rng.uniform(0.5, 4.0), 2))),
                guarantee=rng.choice(GUARANTEES),
                entity_types=rng.choice([[], [], ["enterprise"], ["individual"]]),
                industries=rng.sample(divisions, 3) if rng.random() < 0.3 else [],
                districts=rng.sample(districts, 2) if rng.random() < 0.2 else [],
                tiers=rng.choice([[], [], ["growth", "development"]]),
                min_score=rng.choice([None, 500.0, 550.0, 600.0]),
                max_pd=rng.choice([None, 0.05, 0.10]),
                min_age_years=rng.choice([None, 1.0, 2.0]),
            )
        )
    return specs


def percentiles(step: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """p50, p95, p99 in milliseconds of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append((time.perf_counter() - started) * 1000)
    p50, p95, p99 = np.percentile(times, [50, 95, 99])
    return float(p50), float(p95), float(p99)


def main(entities: int, directory: Path | None, sqlite: bool = False) -> None:
    from bench_scoring import REGION, region_warehouse

    source = region_warehouse(delivery_dir(REGION, directory))
    schema = f"bench_market_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with tempfile.TemporaryDirectory(prefix="puhui-bench-market-") as tmp:
        if sqlite:
            url = f"sqlite:///{tmp}/app.db"
        else:
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        try:
            run(entities, source, Path(tmp), url)
        finally:
            if not sqlite:
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def run(entities: int, source: Path, tmp: Path, url: str) -> None:
    work = tmp / "w.duckdb"
    shutil.copy(source, work)
    con = connect(work, KEY)
    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        train_models(con, session, AS_OF, models_dir=tmp / "models")
    with unit_of_work(engine) as session:
        score_region(con, session, AS_OF, load_policy())

    # Repeat the region's features and champion scores to `entities` distinct businesses.
    region = int(con.sql("SELECT count(*) FROM scores WHERE role = 'champion'").fetchall()[0][0])
    copies = -(-entities // region)
    for table, where in (("features", "TRUE"), ("scores", "TRUE")):
        con.execute(
            f"CREATE TABLE many AS SELECT * REPLACE ("
            " printf('91330000%09d%s', dense_rank() OVER (ORDER BY uscc, c.i), 'X') AS uscc)"
            f" FROM {table}, range({copies}) AS c(i) WHERE {where}"
        )
        con.execute(f"DROP TABLE {table}")
        con.execute(f"ALTER TABLE many RENAME TO {table}")
    con.execute(
        "DELETE FROM features WHERE uscc NOT IN (SELECT uscc FROM features ORDER BY uscc"
        f" LIMIT {entities})"
    )
    con.execute("DELETE FROM scores WHERE uscc NOT IN (SELECT uscc FROM features)")
    businesses = int(con.sql("SELECT count(*) FROM features").fetchall()[0][0])
    divisions = [
        r[0]
        for r in con.sql(
            "SELECT DISTINCT industry_division FROM features WHERE industry_division IS NOT NULL"
        ).fetchall()
    ]
    districts = [
        r[0]
        for r in con.sql(
            "SELECT DISTINCT district FROM features WHERE district IS NOT NULL"
        ).fetchall()
    ]

    operator = Actor.system("bench")
    rng = random.Random(7)
    with unit_of_work(engine) as session:
        for b in range(BANKS):
            session.add(Bank(code=f"B{b:02d}", name=f"银行 {b}", created_at=utcnow()))
        session.flush()
        for spec in product_specs(rng, sorted(divisions), sorted(districts)):
            publish_product(session, operator, create_product(session, operator, spec).id)

    print(
        f"{businesses:,} businesses ({copies} copies of the {region:,}-business region) x"
        f" {PRODUCTS} products of {BANKS} banks; app database {url.split(':')[0]}",
        flush=True,
    )
    print_row(("step", "seconds", "pairs/s", "peak GiB"), 14)

    with unit_of_work(engine) as session:
        products = list(session.query(Product).order_by(Product.id))
        rules = product_rules(products)
    columns = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'features'"
        ).fetchall()
    }
    started = time.perf_counter()
    eligible = 0
    reader = con.sql(_inputs_sql(columns), params=[AS_OF, "platform"]).to_arrow_reader(100_000)
    for batch in reader:
        for _, found in matching.match_chunks(rules, businesses_of(batch)):
            eligible += int(found.eligible.sum())
    match_s = time.perf_counter() - started
    pairs = businesses * PRODUCTS
    print_row(("match pass", f"{match_s:.1f}", f"{pairs / match_s:,.0f}", f"{peak_gib():.1f}"), 14)

    started = time.perf_counter()
    with unit_of_work(engine) as session:
        refreshed = refresh_matches(con, session, AS_OF)
    refresh_s = time.perf_counter() - started
    print_row(("refresh", f"{refresh_s:.1f}", f"{pairs / refresh_s:,.0f}", f"{peak_gib():.1f}"), 14)
    print(
        f"eligible pairs {refreshed.eligible:,} ({refreshed.eligible / pairs:.1%}),"
        f" near misses {refreshed.near_misses:,}; match pass counted {eligible:,}"
    )

    usccs = [r[0] for r in con.sql("SELECT uscc FROM features USING SAMPLE 2000").fetchall()]
    product_ids = [p.id for p in products]
    bank_actor = {
        pid: Actor(kind="user", id="1", role=Role.BANK_ADMIN, bank_code=p.bank_code)
        for pid, p in zip(product_ids, products, strict=True)
    }
    factory = session_factory(engine)
    print_row(("query", "p50 ms", "p95 ms", "p99 ms"), 14)

    def search() -> None:
        with factory() as session:
            list_products(
                session,
                None,
                ProductFilters(
                    amount=Decimal(rng.choice([50_000, 200_000, 1_000_000])),
                    guarantee=rng.choice(GUARANTEES),
                    rate=Decimal("6.5"),
                ),
                "rate",
                PageRequest(),
            )

    def for_business() -> None:
        with factory() as session:
            business_products(session, operator, rng.choice(usccs), PageRequest())
            session.rollback()

    def white_list() -> None:
        pid = rng.choice(product_ids)
        with factory() as session:
            list_matches(session, bank_actor[pid], pid, PageRequest())
            session.rollback()  # the read's audit row is not what is measured

    for name, step in (
        ("product search", search),
        ("business's products", for_business),
        ("product white list", white_list),
    ):
        p50, p95, p99 = percentiles(step, REPEATS)
        print_row((name, f"{p50:.1f}", f"{p95:.1f}", f"{p99:.1f}"), 14)
    con.close()
    engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("entities", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--sqlite", action="store_true", help="SQLite app database, not PG")
    args = parser.parse_args()
    main(args.entities, args.dir, args.sqlite)
