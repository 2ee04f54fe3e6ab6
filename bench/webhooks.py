"""Webhook delivery throughput and scheduler tick time, on scratch PostgreSQL databases.

1. Deliveries per second: N pending deliveries, spread over 8 endpoints of one local
   receiver, sent by one in-process `Worker` (claim, SSRF check, sign, POST, record),
   side by side with a bare `httpx.AsyncClient` loop posting the same signed payloads to
   the same receiver at the same concurrency. Target: the worker reaches ≥ 60 % of bare.
2. Scheduler tick: `open_due_windows` with 500 due windows among 10 k and among 1 M
   pending ones, and an idle tick (none due). Each tick is rolled back so every sample
   sees the same rows. Target: the 1 M tick takes ≤ 2x the 10 k tick.

Run: `.venv/bin/python -m bench.webhooks [--deliveries N] [--sizes 10000,1000000]`
(`make bench` takes the scheduler figures from here).
PostgreSQL comes from FOLLOWUP_BENCH_DATABASE_URL (default
postgresql+asyncpg://postgres@127.0.0.1:5432/test); scratch databases are created beside
it and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.migrate import upgrade_head
from app.db.models import Event, WebhookDelivery, WebhookEndpoint
from app.db.session import create_engine, create_sessionmaker
from app.schemas.events import encode_envelope
from app.services.windows import open_due_windows
from app.settings import Settings
from app.webhooks.signing import generate_secret, webhook_headers
from app.worker.runner import Worker
from bench import receiver as receiver_module
from bench.common import SECRET_BOX, SECRET_KEY

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
ENDPOINTS = 8
DUE = 500
PROFILE: str | None = None
"""`--profile PATH`: cProfile the worker run (not the bare loop) into PATH.c<concurrency>."""


@asynccontextmanager
async def receiver_process() -> AsyncIterator[str]:
    with receiver_module.receiver_process() as url:
        yield url


# Scratch databases


async def _admin(url: str, statement: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def scratch_database(admin_url: str) -> AsyncIterator[str]:
    name = f"followup_bench_{uuid.uuid4().hex[:10]}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade_head, url)
        yield url
    finally:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def event_data() -> dict[str, Any]:
    """About the size of a real `followup.window_opened` payload."""
    interview = {
        "id": "intv_" + "0" * 32,
        "candidate_id": "cand_" + "0" * 32,
        "company": "Northwind Traders",
        "role_title": "Data Analyst",
        "starts_at": "2026-11-02T10:00:00Z",
        "ends_at": "2026-11-02T11:00:00Z",
        "timezone": "Europe/London",
        "decision": "pending",
        "notes": "Panel with the analytics team; follow up with the hiring manager.",
    }
    return {
        "window": {"id": "win_" + "0" * 32, "kind": "thank_you", "state": "open"},
        "interview": interview,
        "contacts": [{"id": "cont_" + "0" * 32, "name": "Morgan Lee", "role": "hiring_manager"}],
        "suggested_action": "Send a short thank-you email to each person who interviewed you.",
    }


async def seed_deliveries(engine: AsyncEngine, base_url: str, count: int) -> None:
    statements = [
        "INSERT INTO accounts (id, name, created_at, updated_at) "
        "VALUES ('acct_bench', 'Bench', now(), now())",
        "INSERT INTO webhook_endpoints (id, account_id, url, event_types, enabled, secret, "
        "created_at, updated_at) SELECT 'we_' || e, 'acct_bench', :base || '/e' || e, '[]', "
        "true, :secret, now(), now() FROM generate_series(1, :endpoints) AS e",
        "INSERT INTO events (id, account_id, type, data, created_at) "
        "SELECT 'evt_' || lpad(g::text, 10, '0'), 'acct_bench', 'followup.window_opened', "
        "CAST(:data AS json), now() FROM generate_series(1, :count) AS g",
        "INSERT INTO webhook_deliveries (id, account_id, event_id, endpoint_id, status, "
        "attempt_count, next_attempt_at, created_at, updated_at) "
        "SELECT 'dlv_' || g, 'acct_bench', 'evt_' || lpad(g::text, 10, '0'), "
        "'we_' || (1 + g % :endpoints), 'pending', 0, now(), now(), now() "
        "FROM generate_series(1, :count) AS g",
    ]
    params = {
        "base": base_url,
        "secret": SECRET_BOX.seal(generate_secret()),
        "endpoints": ENDPOINTS,
        "count": count,
        "data": json.dumps(event_data()),
    }
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement), params)
        await conn.execute(text("ANALYZE"))


async def signed_payloads(engine: AsyncEngine) -> list[tuple[str, str, bytes, tuple[str, ...]]]:
    """(url, event id, body, plain secrets) per delivery, exactly as the worker would send
    them (the secrets opened here, untimed)."""
    async with create_sessionmaker(engine)() as session:
        rows = await session.execute(
            select(WebhookEndpoint.url, Event, WebhookEndpoint.secret)
            .join(WebhookDelivery, WebhookDelivery.endpoint_id == WebhookEndpoint.id)
            .join(Event, Event.id == WebhookDelivery.event_id)
        )
        return [
            (
                url,
                event.id,
                encode_envelope(event.id, event.type, event.created_at, event.data),
                (SECRET_BOX.open(sealed),),
            )
            for url, event, sealed in rows
        ]


async def bare_loop(
    payloads: list[tuple[str, str, bytes, tuple[str, ...]]], concurrency: int
) -> float:
    work: Iterator[tuple[str, str, bytes, tuple[str, ...]]] = iter(payloads)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=10, trust_env=False, limits=limits) as client:

        async def lane() -> None:
            for url, event_id, body, secrets in work:
                headers = webhook_headers(event_id, int(time.time()), body, secrets)
                response = await client.post(url, content=body, headers=headers)
                assert response.status_code == 200

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        return time.perf_counter() - started


async def worker_run(url: str, engine: AsyncEngine, count: int, concurrency: int) -> float:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        secret_key=SECRET_KEY,
        webhook_allow_private=True,
        worker_concurrency=concurrency,
        worker_per_endpoint_concurrency=max(1, concurrency // ENDPOINTS),
        log_level="WARNING",
    )
    worker = Worker(settings, create_sessionmaker(engine))
    profiler = cProfile.Profile() if PROFILE else None
    if profiler is not None:
        profiler.enable()
    started = time.perf_counter()
    task = asyncio.create_task(worker.run())
    done = 0
    async with engine.connect() as conn:
        while done < count:
            await asyncio.sleep(0.02)
            done = (
                await conn.execute(
                    text("SELECT count(*) FROM webhook_deliveries WHERE status <> 'pending'")
                )
            ).scalar_one()
            await conn.commit()
    elapsed = time.perf_counter() - started
    worker.stop()
    await task
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(f"{PROFILE}.c{concurrency}")
        print(f"  profile of the worker run written to {PROFILE}.c{concurrency}", file=sys.stderr)
    async with engine.connect() as conn:
        failed = (
            await conn.execute(
                text("SELECT count(*) FROM webhook_deliveries WHERE status <> 'succeeded'")
            )
        ).scalar_one()
    assert failed == 0, f"{failed} deliveries did not succeed"
    return elapsed


async def bench_deliveries(
    admin_url: str, count: int, concurrency: int
) -> list[tuple[str, str, str]]:
    async with receiver_process() as base, scratch_database(admin_url) as url:
        engine = create_engine(url)
        try:
            await seed_deliveries(engine, base, count)
            payloads = await signed_payloads(engine)
            await bare_loop(payloads[: min(200, count)], concurrency)  # warm up
            bare = await bare_loop(payloads, concurrency)
            worker = await worker_run(url, engine, count, concurrency)
        finally:
            await engine.dispose()
    bare_rate, worker_rate = count / bare, count / worker
    return [
        ("bare httpx loop", f"{bare:.2f} s", f"{bare_rate:,.0f} /s"),
        ("followup worker", f"{worker:.2f} s", f"{worker_rate:,.0f} /s"),
        ("worker / bare", "", f"{worker_rate / bare_rate:.0%} (target >= 60 %)"),
    ]


async def seed_windows(engine: AsyncEngine, pending: int, due: int) -> None:
    """`pending` windows opening next year and `due` windows already due, 3 per interview."""
    total = pending + due
    interviews = (total + 2) // 3
    statements = [
        "INSERT INTO accounts (id, name, created_at, updated_at) "
        "VALUES ('acct_bench', 'Bench', now(), now())",
        "INSERT INTO webhook_endpoints (id, account_id, url, event_types, enabled, secret, "
        "created_at, updated_at) VALUES ('we_bench', 'acct_bench', 'http://127.0.0.1:9/', "
        "'[]', true, :secret, now(), now())",
        "INSERT INTO candidates (id, account_id, name, timezone, created_at, updated_at) "
        "VALUES ('cand_bench', 'acct_bench', 'Bench', 'UTC', now(), now())",
        "INSERT INTO interviews (id, account_id, candidate_id, company, role_title, starts_at, "
        "ends_at, timezone, decision, created_at, updated_at) "
        "SELECT 'intv_' || g, 'acct_bench', 'cand_bench', 'Northwind', 'Analyst', now(), "
        "now() + interval '1 hour', 'UTC', 'pending', now(), now() "
        "FROM generate_series(0, :interviews - 1) AS g",
        "INSERT INTO followup_windows (id, account_id, interview_id, kind, opens_at, state, "
        "state_changed_at, created_at) "
        "SELECT 'win_' || g, 'acct_bench', 'intv_' || (g / 3), "
        "(ARRAY['thank_you', 'check_in', 'brief_referees'])[1 + g % 3], "
        "CASE WHEN g < :due THEN now() - interval '1 minute' "
        "ELSE now() + interval '1 day' + g * interval '1 second' END, "
        "'pending', now(), now() FROM generate_series(0, :total - 1) AS g",
    ]
    params = {
        "secret": SECRET_BOX.seal(generate_secret()),
        "interviews": interviews,
        "due": due,
        "total": total,
    }
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement), params)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        # ANALYZE only: a VACUUM of a million fresh rows costs more than the rest of the
        # seeding, and the median of several ticks absorbs the first one's hint-bit writes.
        await conn.execute(text("ANALYZE interviews, followup_windows"))


async def tick_times(engine: AsyncEngine, now: datetime, repeats: int) -> tuple[float, int]:
    """Median seconds of `open_due_windows` at `now`, each run rolled back."""
    sessionmaker = create_sessionmaker(engine)
    samples = []
    opened = 0
    async with sessionmaker() as session:
        for _ in range(repeats):
            await session.begin()
            started = time.perf_counter()
            opened = await open_due_windows(session, now, DUE)
            await session.flush()
            samples.append(time.perf_counter() - started)
            await session.rollback()
    return statistics.median(samples), opened


async def scheduler_ticks(
    admin_url: str, sizes: list[int], repeats: int
) -> dict[int, tuple[float, float]]:
    """Per size of the pending backlog: (median tick with DUE due, median idle tick), seconds."""
    results: dict[int, tuple[float, float]] = {}
    for size in sizes:
        async with scratch_database(admin_url) as url:
            engine = create_engine(url)
            try:
                started = time.perf_counter()
                await seed_windows(engine, size, DUE)
                seeded = time.perf_counter() - started
                now = datetime.now(UTC)
                busy, opened = await tick_times(engine, now, repeats)
                assert opened == DUE, opened
                idle, none = await tick_times(engine, now - timedelta(hours=1), repeats)
                assert none == 0, none
                results[size] = (busy, idle)
                print(f"  seeded {size:,} pending windows in {seeded:.1f} s", file=sys.stderr)
            finally:
                await engine.dispose()
    return results


async def bench_scheduler(admin_url: str, sizes: list[int], repeats: int) -> list[tuple[str, ...]]:
    results = await scheduler_ticks(admin_url, sizes, repeats)
    rows: list[tuple[str, ...]] = []
    for size, (busy, idle) in results.items():
        rows.append((f"{size:,} pending", f"{busy * 1000:.1f} ms", f"{idle * 1000:.2f} ms"))
    if len(sizes) == 2:
        small, large = (results[s] for s in sizes)
        rows.append(
            (
                "large / small",
                f"{large[0] / small[0]:.2f}x (target <= 2x)",
                f"{large[1] / small[1]:.2f}x",
            )
        )
    return rows


def table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> None:
    admin_url = os.environ.get("FOLLOWUP_BENCH_DATABASE_URL", DEFAULT_URL)
    if not args.skip_deliveries:
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            rows = await bench_deliveries(admin_url, args.deliveries, concurrency)
            title = (
                f"Webhook deliveries: {args.deliveries:,} to {ENDPOINTS} endpoints of a local "
                f"receiver, concurrency {concurrency}"
            )
            print(table(title, ("sender", "time", "rate"), rows), end="\n\n", flush=True)
    if not args.skip_scheduler:
        sizes = [int(size) for size in args.sizes.split(",")]
        rows = await bench_scheduler(admin_url, sizes, args.repeats)
        title = f"Scheduler tick: open_due_windows, median of {args.repeats}, rolled back"
        print(table(title, ("windows", f"tick, {DUE} due", "idle tick, 0 due"), rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument(
        "--concurrency",
        default="8,32",
        help="comma-separated; 32 is the worker's default, 8 is where httpx itself is fastest",
    )
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--skip-deliveries", action="store_true")
    parser.add_argument("--skip-scheduler", action="store_true")
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="cProfile each worker run into PATH.c<concurrency> (slows the worker down)",
    )
    args = parser.parse_args()
    global PROFILE
    PROFILE = args.profile
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
