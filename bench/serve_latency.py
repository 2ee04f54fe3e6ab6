"""Webhook latency under API load: `followup serve` (the API, and the worker in its
child process), on PostgreSQL and on SQLite.

The seeded account gets one webhook endpoint (every event type) on a local receiver;
wrk records contact attempts through the same process with 16 connections for
`duration` seconds, each request storing an attempt and its `contact_attempt.recorded`
event (and `.flagged`, when flagged) with one pending delivery. After the load, the
worker gets up to `drain` seconds to catch up. For every event created during the
load: latency = receipt at the receiver minus the event's `created_at`, which the event
row gets in the request's transaction, just before that transaction commits (so the
figure includes the rest of the request, a few milliseconds). Events not received by
the end of the drain count as lost in `serve.latency_under_load.undelivered`.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from app.clock import utcnow
from app.db.base import new_id
from app.db.models import Event, WebhookEndpoint
from app.db.session import create_engine
from app.webhooks.signing import generate_secret
from bench.api import (
    CONNECTIONS,
    RecordCursor,
    Target,
    api_params,
    run_wrk,
    smoke,
    write_params,
)
from bench.common import (
    NO_RATE_LIMIT,
    SECRET_BOX,
    SECRET_KEY,
    followup_command,
    free_port,
    process,
    wait_http,
)
from bench.receiver import receiver_process
from bench.seed import Seeded


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _add_endpoint(database_url: str, account_id: str, url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            now = utcnow()
            await conn.execute(
                WebhookEndpoint.__table__.insert(),
                {
                    "id": new_id("we"),
                    "account_id": account_id,
                    "url": url,
                    "description": "bench receiver",
                    "event_types": [],
                    "enabled": True,
                    "secret": SECRET_BOX.seal(generate_secret()),
                    "created_at": now,
                    "updated_at": now,
                },
            )
    finally:
        await engine.dispose()


async def _wait_drained(database_url: str, deadline: float) -> int:
    """Pending deliveries left when none remain or the deadline passes."""
    engine = create_engine(database_url)
    try:
        while True:
            async with engine.connect() as conn:
                pending = (
                    await conn.execute(
                        text("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")
                    )
                ).scalar_one()
            if pending == 0 or time.monotonic() > deadline:
                return int(pending)
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()


async def _events_since(database_url: str, since: datetime) -> dict[str, datetime]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(Event.id, Event.created_at).where(Event.created_at >= since)
            )
            return {event_id: created for event_id, created in rows.all()}
    finally:
        await engine.dispose()


def measure(
    database_url: str,
    data: Seeded,
    cursor: RecordCursor,
    duration: float,
    drain: float,
    prefix: str = "serve",
) -> dict[str, Any]:
    """The figures under `prefix` (`serve` on PostgreSQL, `sqlite.serve` on SQLite)."""
    with tempfile.TemporaryDirectory(prefix="followup-serve-") as tmp:
        log = Path(tmp) / "receipts.txt"
        with receiver_process(log) as receiver:
            asyncio.run(_add_endpoint(database_url, data.account_id, f"{receiver}/hooks"))
            port = free_port()
            env = {
                "FOLLOWUP_DATABASE_URL": database_url,
                "FOLLOWUP_SECRET_KEY": SECRET_KEY,
                "FOLLOWUP_RATE_LIMIT": NO_RATE_LIMIT,
                "FOLLOWUP_PORT": str(port),
                "FOLLOWUP_HOST": "127.0.0.1",
                "FOLLOWUP_LOG_LEVEL": "WARNING",
                "FOLLOWUP_WEBHOOK_ALLOW_PRIVATE": "true",
            }
            with process(followup_command("serve"), env, Path(tmp) / "serve.log") as serve:
                wait_http(f"http://127.0.0.1:{port}/healthz")
                params, expect, _ = api_params("record", data)
                target = Target("record", f"http://127.0.0.1:{port}", serve.pid, params, expect)
                target.params_file = write_params(Path(tmp), "record", params)
                smoke(target, cursor.take(1))
                # Everything before the load (the smoke request, windows the scheduler
                # opened on start) is delivered first, so the load starts from idle.
                asyncio.run(_wait_drained(database_url, time.monotonic() + drain))
                started = datetime.now(UTC)
                run = run_wrk(target, duration, cursor.position)
                cursor.take(run.requests + CONNECTIONS)
                left = asyncio.run(_wait_drained(database_url, time.monotonic() + drain))
        events = asyncio.run(_events_since(database_url, started))
        receipts: dict[str, float] = {}
        for line in log.read_text().splitlines():
            event_id, at = line.split()
            receipts.setdefault(event_id, float(at))
    latencies = [
        receipts[event_id] - created.timestamp()
        for event_id, created in events.items()
        if event_id in receipts
    ]
    if not latencies:
        raise RuntimeError("no webhook arrived during the serve latency run")
    undelivered = len(events) - len(latencies)
    print(
        f"  {prefix}: {run.rps:.1f} req/s recorded, {len(events)} events, "
        f"p50 {statistics.median(latencies):.3f} s, p99 {percentile(latencies, 0.99):.3f} s, "
        f"{undelivered} undelivered ({left} deliveries still pending)",
        file=sys.stderr,
    )
    return {
        f"{prefix}.latency_under_load.p50_s": round(statistics.median(latencies), 4),
        f"{prefix}.latency_under_load.p99_s": round(percentile(latencies, 0.99), 4),
        f"{prefix}.latency_under_load.max_s": round(max(latencies), 4),
        f"{prefix}.latency_under_load.events": len(events),
        f"{prefix}.latency_under_load.undelivered": undelivered,
        f"{prefix}.api_under_load.rps": round(run.rps, 1),
        f"{prefix}.api_under_load.p99_ms": round(run.p99_ms, 2),
    }
