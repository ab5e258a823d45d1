"""Financing supermarket at scale: 500 products against 1,000,000 businesses.

The 100,000-business region of ``bench_scoring`` (simulated, ingested, linked, featured
once and cached in /tmp) is trained and scored with the platform's champion; its feature
and score rows are then repeated, with distinct uscc, to ``ENTITIES`` businesses (matching
cost depends on the rows, not on where they came from). 500 products of 25 banks are
published in a fresh PostgreSQL schema (or SQLite with ``--sqlite``), each with targeting
and eligibility rules drawn at random (seeded). Timed, wall clock and CPU:

* ``refresh``: ``refresh_matches`` end to end, committed — reading the champion scores
  joined to the features from the warehouse, writing the run's matching-inputs file, and
  counting every product's eligible businesses and near misses in one vectorised pass;
  with the peak resident memory of the refresh alone (the kernel's high-water mark is reset
  before it);
* latencies (p50 / p95 / p99 of ``REPEATS`` calls of the service, as the API runs it, each
  in its own session): product search (``list_products`` with amount, guarantee and rate
  filters, sorted by rate); a business's ranked products (``business_products``, first
  page); a product's white list (``list_matches``) first page *cold* (the per-product cache
  emptied before each call, so every call is one pass of the product over the whole
  region), first page and a deep page (a random page of the whole list) *warm*.

The load average is printed beside each figure: the machine is shared.

Run: ``python bench/bench_market.py [ENTITIES] [--dir DELIVERY] [--sqlite]``.
"""

from __future__ import annotations

import argparse
import os
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
from puhui.market import service
from puhui.market.models import Product
from puhui.market.schemas import ProductFilters, ProductIn
from puhui.pagination import PageRequest
from puhui.scoring.policy import load_policy
from puhui.scoring.service import score_region, train_models
from regions import AS_OF, delivery_dir, print_row

PRODUCTS = 500
BANKS = 25
REPEATS = 300
PAGE = 20
KEY = b"bench-key"
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
GUARANTEES = ("credit", "guarantee", "mortgage", "pledge")


def rss_gib(field: str) -> float:
    """``VmHWM`` (peak) or ``VmRSS`` (now) of this process, GiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def reset_peak_rss() -> None:
    """Start the kernel's resident high-water mark afresh (``clear_refs`` value 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


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


def percentiles(step: Callable[[], object], repeats: int) -> tuple[float, float, float, float]:
    """p50, p95, p99 in milliseconds of ``repeats`` calls, and CPU ms per call."""
    times = []
    cpu = time.process_time()
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append((time.perf_counter() - started) * 1000)
    cpu_ms = (time.process_time() - cpu) * 1000 / repeats
    p50, p95, p99 = np.percentile(times, [50, 95, 99])
    return float(p50), float(p95), float(p99), cpu_ms


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
    con.execute("SET memory_limit = '5GB'")
    upgrade(url)
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        train_models(con, session, AS_OF, models_dir=tmp / "models")
    with unit_of_work(engine) as session:
        score_region(con, session, AS_OF, load_policy())

    # Repeat the region's features and champion scores to `entities` distinct businesses.
    region = int(con.sql("SELECT count(*) FROM scores WHERE role = 'champion'").fetchall()[0][0])
    copies = -(-entities // region)
    for table in ("features", "scores"):
        con.execute(
            f"CREATE TABLE many AS SELECT * REPLACE ("
            " printf('91330000%09d%s', dense_rank() OVER (ORDER BY uscc, c.i), 'X') AS uscc)"
            f" FROM {table}, range({copies}) AS c(i)"
        )
        con.execute(f"DROP TABLE {table}")
        con.execute(f"ALTER TABLE many RENAME TO {table}")
    con.execute(
        "DELETE FROM features WHERE uscc NOT IN (SELECT uscc FROM features ORDER BY uscc"
        f" LIMIT {entities})"
    )
    con.execute("DELETE FROM scores WHERE uscc NOT IN (SELECT uscc FROM features)")
    con.execute("CHECKPOINT")
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
            made = service.create_product(session, operator, spec)
            service.publish_product(session, operator, made.id)

    print(
        f"{businesses:,} businesses ({copies} copies of the {region:,}-business region) x"
        f" {PRODUCTS} products of {BANKS} banks; app database {url.split(':')[0]}",
        flush=True,
    )
    print_row(("step", "wall s", "CPU s", "peak GiB", "load 1/5/15"), 14)
    reset_peak_rss()
    before = rss_gib("VmRSS")
    started, cpu = time.perf_counter(), time.process_time()
    with unit_of_work(engine) as session:
        refreshed = service.refresh_matches(con, session, AS_OF, directory=tmp / "market")
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = rss_gib("VmHWM")
    print_row(("refresh", f"{wall:.1f}", f"{cpu:.1f}", f"{peak:.2f}", load()), 14)
    pairs = businesses * PRODUCTS
    print(
        f"resident before the refresh {before:.2f} GiB; {pairs / wall:,.0f} pairs/s;"
        f" eligible pairs {refreshed.eligible:,} ({refreshed.eligible / pairs:.1%}), near misses"
        f" {refreshed.near_misses:,}; file {refreshed.path.stat().st_size / 2**20:,.0f} MiB",
        flush=True,
    )

    usccs = [r[0] for r in con.sql("SELECT uscc FROM features USING SAMPLE 2000").fetchall()]
    with unit_of_work(engine) as session:
        products = list(session.query(Product).order_by(Product.id))
        bank_of = {p.id: p.bank_code for p in products}
    product_ids = list(bank_of)
    bank_actor = {
        pid: Actor(kind="user", id="1", role=Role.BANK_ADMIN, bank_code=bank)
        for pid, bank in bank_of.items()
    }
    factory = session_factory(engine)
    totals: dict[int, int] = {}

    def search() -> None:
        with factory() as session:
            service.list_products(
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
            service.business_products(session, operator, rng.choice(usccs), PageRequest())
            session.rollback()

    def white_list_page(pid: int, page: int) -> None:
        with factory() as session:
            result = service.list_matches(
                session, bank_actor[pid], pid, PageRequest(page=page, size=PAGE)
            )
            totals[pid] = result.total
            session.rollback()  # the read's audit row is not what is measured

    def white_list(page: Callable[[int], int], cold: bool) -> Callable[[], None]:
        def step() -> None:
            pid = rng.choice(product_ids)
            if cold:
                service.forget_white_lists()  # every call one pass over the region
            white_list_page(pid, page(pid))

        return step

    def deep(pid: int) -> int:
        pages = max(1, -(-totals.get(pid, 0) // PAGE))
        return rng.randint(1, min(pages, 1_000_000))

    print_row(("query", "p50 ms", "p95 ms", "p99 ms", "CPU ms/call", "load 1/5/15"), 14)
    for name, step in (
        ("product search", search),
        ("business's products", for_business),
        ("white list cold p1", white_list(lambda pid: 1, cold=True)),
        ("white list warm p1", white_list(lambda pid: 1, cold=False)),
        ("white list deep", white_list(deep, cold=False)),
    ):
        if name == "white list warm p1":
            started = time.perf_counter()
            for pid in product_ids:  # fill the cache: the warm figures are cache hits
                white_list_page(pid, 1)
            filled = time.perf_counter() - started
            print(f"(every product's white list computed once: {filled:.1f} s)", flush=True)
        p50, p95, p99, cpu_ms = percentiles(step, REPEATS)
        print_row((name, f"{p50:.1f}", f"{p95:.1f}", f"{p99:.1f}", f"{cpu_ms:.1f}", load()), 14)
    eligible = np.asarray(list(totals.values()))
    print(
        f"white lists seen: {len(eligible)} products, {np.median(eligible):,.0f} eligible"
        f" businesses at the median, {eligible.max():,} at most; resident now"
        f" {rss_gib('VmRSS'):.2f} GiB; max RSS of the run"
        f" {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB",
        flush=True,
    )
    con.close()
    engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("entities", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--sqlite", action="store_true", help="SQLite app database, not PG")
    args = parser.parse_args()
    main(args.entities, args.dir, args.sqlite)
