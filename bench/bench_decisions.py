"""Real-time decisions under load: ``POST /api/v1/decisions`` beside ``GET /api/v1/ping``.

A small region (``BUSINESSES`` businesses, seed 1, simulated once and kept in /tmp) is
ingested, linked and featured into a fresh warehouse; a fresh PostgreSQL database is
migrated and gets the profiles (``publish``), the models trained on the region's loans
(``model train``), a bank with an API client, and a consent of every business for that
bank; the region is scored (``score``). Then ``puhui serve --workers 2`` runs on that
schema, and a Python asyncio client on loopback (raw HTTP/1.1 on keep-alive connections,
so the client spends little of the shared CPU) drives, for each endpoint in turn:

* **open loop** — requests sent on a fixed schedule of ``RATE`` (and ``LOW_RATE``) per
  second for ``SECONDS`` seconds, whatever the answers do; each latency is measured from the moment
  the request was *due*, so a server that falls behind is charged for the queue
  (no coordinated omission);
* **closed loop** — 4, then 16 connections (``CONNECTIONS``) each sending its next request
  as soon as the last is answered, for ``SECONDS`` seconds: the most the stack serves is
  the better of the two.

Each decision asks for a random business of the region and a random amount (10,000 to
500,000 yuan); the first pass (a warm-up, not measured) starts the workers' feature
caches. The table gives requests, errors, throughput and p50 / p95 / p99 / max latency,
and the CPU each request cost the server's processes, the PostgreSQL backends of its
database and this client (from /proc and ``time.process_time``). The server runs with
``PUHUI_DB_POOL_PRE_PING=false`` (the database is on this machine), a pool of 20
connections per worker and the defaults otherwise: the audit chain deferred, the token
cache on. After each decisions run the
audit rows still waiting to be chained are counted; after the last run the chain is
verified and the decisions are counted against their audit rows. Nothing is asserted: the
machine is shared, figures are noisy (docs/performance.md).

Run: ``python bench/bench_decisions.py [BUSINESSES] [--dir DELIVERY]``;
``PUHUI_BENCH_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``: the server
the bench creates its own database on, and drops it after).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, create_engine, make_url, text

from puhui.accounts.actor import Actor
from puhui.accounts.service import create_bank, create_client
from puhui.audit import chain_waiting_rows, verify_chains
from puhui.consent.service import grant
from puhui.db import make_engine, unit_of_work, upgrade
from puhui.features.service import compute_features, publish_profiles
from puhui.ingest.service import ingest_delivery
from puhui.ingest.warehouse import connect
from puhui.link.service import run_link
from puhui.scoring.policy import load_policy
from puhui.scoring.service import score_region, train_models
from regions import AS_OF, delivery_dir, print_row

BUSINESSES = 8_000  # fewer give too few bad loans to train a model on (seed 1)
RATE = 200  # requests per second, open loop (the aim)
LOW_RATE = 50  # a second open loop, under what the stack sustains here
SECONDS = 20.0
WARMUP_SECONDS = 8.0
CONNECTIONS = (4, 16)  # closed loops
OPEN_LOOP_CONNECTIONS = 64  # most connections the open loop may hold
#: An idle connection is not reused after this long: uvicorn closes keep-alive connections
#: idle for 5 s, and a request sent as it does so fails (counted as an error before).
KEEP_ALIVE_SECONDS = 4.0
PG_URL = os.environ.get("PUHUI_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
KEY = b"bench-key"


# --------------------------------------------------------------------------- the region


def _database_url(name: str) -> str:
    """``PG_URL`` with another database: the bench gets a database of its own, so that
    other sessions' long transactions on the shared one (a test suite's) do not hold back
    the vacuum of its tables — the audit chain's head row is updated on every request."""
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def prepare(directory: Path, work: Path, url: str) -> tuple[list[str], str, str]:
    """The region on the warehouse and the app database; returns (usccs, client_id,
    secret)."""
    con = connect(work / "w.duckdb", KEY)
    started = time.perf_counter()
    ingest_delivery(con, directory)
    run_link(con)
    compute_features(con, AS_OF)
    upgrade(url)
    engine = make_engine(url)
    platform = Actor.system("bench")
    with unit_of_work(engine) as session:
        published = publish_profiles(con, session, AS_OF)
        models = train_models(con, session, AS_OF, models_dir=work / "models").models
        run = score_region(con, session, AS_OF, load_policy())
        create_bank(session, platform, "BENCH", "压测银行")
        made = create_client(session, platform, "BENCH", "bench client")
        client_id, secret = made.client.client_id, made.secret
        usccs = [r[0] for r in con.execute("SELECT uscc FROM features ORDER BY uscc").fetchall()]
        for uscc in usccs:
            grant(session, platform, "BENCH", 365, uscc=uscc)
    engine.dispose()
    con.close()
    # A freshly loaded database is analysed; the consents' audit and ledger rows also left
    # thousands of versions of the chains' head rows behind.
    tuner = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with tuner.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    tuner.dispose()
    print(
        f"region: {published:,} profiles, models {[m.id for m in models]}, "
        f"{run.scored:,} scored ({run.admitted:,} admitted), {len(usccs):,} consents; "
        f"prepared in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return usccs, client_id, secret


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(home: Path, url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PUHUI_DATABASE_URL": url,
        "PUHUI_COOKIE_SECURE": "false",
        # A database on this machine: its connections do not go stale (docs/decisions.md).
        "PUHUI_DB_POOL_PRE_PING": "false",
        # 16 client connections may land unevenly on the two workers: a pool smaller than
        # what one worker has in flight opens and closes a connection per request.
        "PUHUI_DB_POOL_SIZE": "20",
    }
    puhui = Path(sys.executable).with_name("puhui")
    command = [str(puhui), "--home", str(home), "serve", "--workers", "2", "--port", str(port)]
    # The access log goes to stdout (dropped); errors and tracebacks to stderr (kept).
    with (home / "server.log").open("wb") as log:
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            status, _ = asyncio.run(_once(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
            if status == 200:
                return server
        except OSError:
            pass
        if server.poll() is not None:
            raise RuntimeError("puhui serve stopped before answering")
        time.sleep(0.5)
    server.terminate()
    raise RuntimeError("puhui serve did not answer within 120 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# --------------------------------------------------------------------------- HTTP client


class Connection:
    """One keep-alive HTTP/1.1 connection: send a request, read one response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
        }
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                body += await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            body = b""
        return status, body

    def close(self) -> None:
        self.writer.close()


async def _once(port: int, request: bytes) -> tuple[int, bytes]:
    connection = await Connection.open(port)
    try:
        return await connection.exchange(request)
    finally:
        connection.close()


def token(port: int, client_id: str, secret: str) -> str:
    body = f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}".encode()
    request = (
        b"POST /api/v1/token HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    status, answer = asyncio.run(_once(port, request))
    if status != 200:
        raise RuntimeError(f"no token: {status} {answer!r}")
    return str(json.loads(answer)["access_token"])


@dataclass
class Result:
    endpoint: str
    mode: str
    seconds: float
    latencies: list[float]
    errors: int
    statuses: dict[int, int]
    #: CPU seconds spent during the run: the server's processes, the database's backends
    #: serving it, and this client.
    cpu: dict[str, float] = field(default_factory=dict)
    #: Audit rows not yet chained the moment the run ended, and the oldest one's age (s).
    waiting: tuple[int, float] = (0, 0.0)

    def row(self) -> tuple[str, ...]:
        done = len(self.latencies)
        p50, p95, p99, top = (
            np.percentile(np.asarray(self.latencies) * 1000, [50, 95, 99, 100])
            if done
            else (float("nan"),) * 4
        )
        answered = max(done + self.errors, 1)
        return (
            self.endpoint,
            self.mode,
            f"{done + self.errors:,}",
            f"{self.errors:,}",
            f"{done / self.seconds:,.0f}",
            f"{p50:.1f}",
            f"{p95:.1f}",
            f"{p99:.1f}",
            f"{top:.1f}",
            *(f"{1000 * self.cpu.get(part, float('nan')) / answered:.2f}" for part in CPU_PARTS),
        )


CPU_PARTS = ("server", "postgres", "client")
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> float | None:
    """User plus system CPU seconds of a process so far (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


@dataclass
class CpuMeter:
    """CPU seconds of the server's process tree and of the PostgreSQL backends connected to
    the bench's database (read from /proc: the database runs on this machine)."""

    server_pid: int
    database: str
    admin: Engine
    app_database: Engine

    def waiting(self) -> tuple[int, float]:
        """Audit rows waiting to be chained now, and the oldest one's age in seconds."""
        with self.app_database.connect() as connection:
            count, oldest = connection.execute(
                text(
                    "SELECT count(*), EXTRACT(EPOCH FROM (now() AT TIME ZONE 'UTC') - min(at))"
                    " FROM audit_log WHERE seq IS NULL"
                )
            ).one()
        return int(count), float(oldest or 0.0)

    def snapshot(self) -> dict[str, dict[int, float]]:
        with self.admin.connect() as connection:
            backends = connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :name"),
                {"name": self.database},
            ).scalars()
            pids = {"server": _descendants(self.server_pid), "postgres": list(backends)}
        return {
            part: {pid: cpu for pid in found if (cpu := _cpu_of(pid)) is not None}
            for part, found in pids.items()
        }

    @staticmethod
    def spent(
        before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]
    ) -> dict[str, float]:
        """CPU seconds between two snapshots (a process that started between them counts
        from zero; one that ended is lost, which the pools make rare)."""
        return {
            part: sum(cpu - before[part].get(pid, 0.0) for pid, cpu in after[part].items())
            for part in after
        }


Requests = list[bytes]


def decision_requests(port: int, bearer: str, usccs: list[str], n: int, seed: int) -> Requests:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        body = json.dumps(
            {"uscc": rng.choice(usccs), "amount": f"{rng.randrange(10, 501) * 1000}.00"}
        ).encode()
        out.append(
            b"POST /api/v1/decisions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Bearer {bearer}\r\n".encode()
            + b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
    return out


PING = b"GET /api/v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


async def open_loop(port: int, requests: Requests, rate: float, seconds: float) -> Result:
    """Send request i at ``start + i / rate``; latency from that due time to the answer."""
    idle: list[tuple[Connection, float]] = []  # with the time each was last answered
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    opened = 0
    count = int(rate * seconds)
    limit = asyncio.Semaphore(OPEN_LOOP_CONNECTIONS)

    async def one(i: int, due: float) -> None:
        nonlocal errors, opened
        async with limit:
            connection = None
            while idle and connection is None:
                connection, answered = idle.pop()
                if time.perf_counter() - answered > KEEP_ALIVE_SECONDS:
                    connection.close()  # the server may be closing it right now
                    connection = None
            if connection is None:
                connection = await Connection.open(port)
                opened += 1
            try:
                status, _ = await connection.exchange(requests[i % len(requests)])
            except (OSError, asyncio.IncompleteReadError):
                errors += 1
                statuses[0] = statuses.get(0, 0) + 1  # 0: the connection failed
                connection.close()
                return
            latency = time.perf_counter() - due
            idle.append((connection, time.perf_counter()))
        statuses[status] = statuses.get(status, 0) + 1
        if 200 <= status < 300:
            latencies.append(latency)
        else:
            errors += 1

    start = time.perf_counter() + 0.1
    tasks = []
    for i in range(count):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    for connection, _ in idle:
        connection.close()
    # Throughput over the time until the last answer: a server that falls behind takes
    # longer than the schedule to answer all.
    elapsed = max(time.perf_counter() - start, seconds)
    return Result("", f"open {rate:.0f}/s", elapsed, latencies, errors, statuses)


async def closed_loop(port: int, requests: Requests, connections: int, seconds: float) -> Result:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    stop = time.perf_counter() + seconds

    async def worker(k: int) -> None:
        nonlocal errors
        connection = await Connection.open(port)
        i = k
        try:
            while time.perf_counter() < stop:
                began = time.perf_counter()
                status, _ = await connection.exchange(requests[i % len(requests)])
                i += connections
                statuses[status] = statuses.get(status, 0) + 1
                if 200 <= status < 300:
                    latencies.append(time.perf_counter() - began)
                else:
                    errors += 1
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(connections)))
    elapsed = time.perf_counter() - started
    return Result("", f"closed {connections} conn", elapsed, latencies, errors, statuses)


def metered(run: Callable[[], Coroutine[Any, Any, Result]], meter: CpuMeter) -> Result:
    """One run, with the CPU it cost each party."""
    before, client = meter.snapshot(), time.process_time()
    result = asyncio.run(run())
    client = time.process_time() - client
    result.waiting = meter.waiting()
    result.cpu = {**meter.spent(before, meter.snapshot()), "client": client}
    return result


def measure(
    port: int, bearer: str, usccs: list[str], seconds: float, rate: float, meter: CpuMeter
) -> list[Result]:
    results = []
    decisions = decision_requests(port, bearer, usccs, 50_000, seed=1)
    print(f"warm-up {WARMUP_SECONDS:.0f} s (starts each worker's feature cache) ...", flush=True)
    asyncio.run(closed_loop(port, decisions, 8, WARMUP_SECONDS))
    asyncio.run(closed_loop(port, [PING], 8, 2.0))
    for name, requests in (("decisions", decisions), ("ping", [PING])):
        runs = [
            lambda r=requests, q=q: open_loop(port, r, q, seconds)
            for q in sorted({rate, LOW_RATE}, reverse=True)
        ]
        runs += [lambda r=requests, c=c: closed_loop(port, r, c, seconds) for c in CONNECTIONS]
        for run in runs:
            result = metered(run, meter)
            result.endpoint = name
            results.append(result)
            bad = {s: c for s, c in result.statuses.items() if not 200 <= s < 300}
            print(f"  {name} {result.mode}: done{f', statuses {bad}' if bad else ''}", flush=True)
    return results


def main(
    businesses: int = BUSINESSES,
    directory: Path | None = None,
    *,
    seconds: float = SECONDS,
    rate: float = RATE,
) -> None:
    delivery = delivery_dir(businesses, directory)
    database = f"puhui_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    url = _database_url(database)
    work = Path(tempfile.mkdtemp(prefix="puhui-bench-decisions-"))
    server = None
    try:
        usccs, client_id, secret = prepare(delivery, work, url)
        port = free_port()
        server = start_server(work, url, port)
        bearer = token(port, client_id, secret)
        app_database = make_engine(url)
        meter = CpuMeter(server.pid, database, admin, app_database)
        started_load = os.getloadavg()
        results = measure(port, bearer, usccs, seconds, rate, meter)
        stop_server(server)
        server = None
        audit = audit_check(app_database)
        app_database.dispose()
    finally:
        if server is not None:
            stop_server(server)
        log_file = work / "server.log"
        log = log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""
        problems = [line for line in log.splitlines() if "Error" in line or "error" in line]
        if problems:
            print("server errors (last 5):", *problems[-5:], sep="\n  ")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(work, ignore_errors=True)
    cpus = os.cpu_count()
    load = os.getloadavg()
    print(
        f"\n{businesses:,} businesses; puhui serve --workers 2 on PostgreSQL; client on"
        f" loopback; {seconds:.0f} s per run; {cpus} CPUs, load average"
        f" {started_load[0]:.1f} / {started_load[1]:.1f} / {started_load[2]:.1f} at the start"
        f" of the runs, {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the end"
    )
    print(
        "CPU ms per request: the server's processes (both workers and their threads), the"
        " PostgreSQL backends of its database, this client"
    )
    print_row(
        (
            "endpoint",
            "mode",
            "requests",
            "errors",
            "per s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "server cpu",
            "pg cpu",
            "client cpu",
        ),
        14,
    )
    for result in results:
        print_row(result.row(), 14)

    def best(endpoint: str) -> float:
        closed = [r for r in results if r.endpoint == endpoint and r.mode.startswith("closed")]
        return max(len(r.latencies) / r.seconds for r in closed)

    print(
        "decision throughput ÷ ping throughput (best closed loop of each): "
        f"{best('decisions'):,.0f} ÷ {best('ping'):,.0f} = {best('decisions') / best('ping'):.2f}"
    )
    lags = [r.waiting for r in results if r.endpoint == "decisions"]
    print(
        "audit rows waiting to be chained as each decisions run ended: "
        + ", ".join(f"{n:,} (oldest {1000 * age:.0f} ms)" for n, age in lags)
    )
    print(audit)


def audit_check(engine: Engine) -> str:
    """After the server stopped: every decision has its audit row, and the audit chain
    (its last rows chained first, as ``puhui audit verify`` does) is intact."""
    with unit_of_work(engine) as session:
        chained_late = chain_waiting_rows(session)
    with unit_of_work(engine) as session:
        report = verify_chains(session)
        decisions = session.scalar(text("SELECT count(*) FROM decisions"))
        audited = session.scalar(
            text("SELECT count(*) FROM audit_log WHERE action = 'decision.create'")
        )
    state = "intact" if report.audit.ok else f"BROKEN: {report.audit.broken}"
    return (
        f"audit chain {state}: {report.audit.entries:,} entries ({chained_late:,} chained after"
        f" the server stopped); {decisions:,} decisions, {audited:,} decision.create rows"
    )


def cli() -> None:
    parser = argparse.ArgumentParser(description="Load test of /api/v1/decisions beside /ping.")
    parser.add_argument("businesses", type=int, nargs="?", default=BUSINESSES)
    parser.add_argument(
        "--dir", type=Path, default=None, help="the delivery (simulated if missing)"
    )
    parser.add_argument("--seconds", type=float, default=SECONDS, help="length of each run")
    parser.add_argument("--rate", type=float, default=RATE, help="open-loop requests per second")
    args = parser.parse_args()
    main(args.businesses, args.dir, seconds=args.seconds, rate=args.rate)


if __name__ == "__main__":
    cli()
