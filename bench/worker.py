"""Webhook delivery: one `followup worker` process against a bare httpx loop.

A scratch PostgreSQL database holds, per round, a batch of pending deliveries due a day
from now (held back), each for a realistic `followup.window_opened` event: spread over 8
endpoints of one local receiver (`delivery`), or all for a single endpoint
(`one_endpoint`). One `followup worker` runs throughout, with its defaults (32 in
flight, at most 4 per endpoint). A round releases its batch (due now, plus a NOTIFY
as every committed event sends) and times release → every delivery recorded as
succeeded. Beside it, in the same round, a bare `httpx.AsyncClient` loop posts the same
signed bodies to the same receiver at the worker's concurrency (32 over 8 endpoints; 4
for one endpoint, the per-endpoint cap), with no database at all. Rounds alternate
bare/worker; figures are medians.

- `worker.delivery.rps`, `worker.delivery.ratio_bare` (worker rate / bare rate),
  `worker.delivery.cpu_ms` (the worker process's CPU per delivery);
- `worker.one_endpoint.rps`, `worker.one_endpoint.ratio_bare`.

The one-endpoint batch is a backlog (2,000 by default), as in the stall this measures:
a small one times the wake-up (the NOTIFY, the first claim, this script's 20 ms poll)
rather than the rate: rounds of 60 measured 525/s where backlogs of 3,000 ran at
605-1,020/s.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.models import Event, WebhookDelivery, WebhookEndpoint
from app.db.session import create_engine, create_sessionmaker
from app.schemas.events import encode_envelope
from app.services.endpoints import WAKEUP_CHANNEL
from app.webhooks.signing import generate_secret, webhook_headers
from bench.common import (
    NO_RATE_LIMIT,
    SECRET_BOX,
    SECRET_KEY,
    cpu_seconds,
    followup_command,
    process,
    scratch_pg_database,
)
from bench.receiver import receiver_process

ENDPOINTS = 8
CONCURRENCY = 32
PER_ENDPOINT = 4

Payload = tuple[str, str, bytes, tuple[str, ...]]
"""(url, event id, body, plain secrets) of one delivery, as the worker sends it."""


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
        "format": "video",
        "decision_expected_at": None,
        "external_id": None,
        "notes": "Panel with the analytics team; follow up with the hiring manager.",
        "decision": "pending",
        "decided_at": None,
        "created_at": "2026-10-20T09:12:44.120331Z",
        "updated_at": "2026-10-20T09:12:44.120331Z",
        "windows": [
            {
                "id": "win_" + str(n) * 32,
                "interview_id": "intv_" + "0" * 32,
                "kind": kind,
                "opens_at": "2026-11-03T11:00:00Z",
                "state": "open" if n == 1 else "pending",
                "state_changed_at": "2026-11-03T11:00:01Z",
            }
            for n, kind in enumerate(("thank_you", "check_in", "brief_referees"), start=1)
        ],
    }
    return {
        "window": interview["windows"][0],
        "interview": interview,
        "contacts": [
            {
                "id": "cont_" + "0" * 32,
                "interview_id": "intv_" + "0" * 32,
                "name": "Morgan Lee",
                "role": "hiring_manager",
                "email": "morgan.lee@example.org",
                "phone": None,
                "timezone": None,
                "created_at": "2026-10-20T09:13:44.120331Z",
                "updated_at": "2026-10-20T09:13:44.120331Z",
            }
        ],
        "suggested_action": "Send a short thank-you email to each person who interviewed you.",
    }


async def seed(engine: AsyncEngine, base_url: str, batches: dict[str, tuple[int, int]]) -> None:
    """An account, 8 endpoints `we_1..8` and `we_one` (one secret, stored sealed as the
    service stores it); per batch name, `count` events with one delivery each on endpoints
    `we_<1 + g % spread>` (spread 8), or `we_one` (spread 1), held back a day."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO accounts (id, name, created_at, updated_at) "
                "VALUES ('acct_bench', 'Bench', now(), now())"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO webhook_endpoints (id, account_id, url, event_types, enabled, "
                "secret, created_at, updated_at) SELECT e, 'acct_bench', :base || '/' || e, "
                "'[]', true, :secret, now(), now() "
                "FROM unnest(CAST(:names AS text[])) AS e"
            ),
            {
                "base": base_url,
                "secret": SECRET_BOX.seal(generate_secret()),
                "names": [f"we_{n}" for n in range(1, ENDPOINTS + 1)] + ["we_one"],
            },
        )
        for batch, (count, spread) in batches.items():
            endpoint = "'we_' || (1 + g % 8)" if spread == ENDPOINTS else "'we_one'"
            await conn.execute(
                text(
                    "INSERT INTO events (id, account_id, type, data, created_at) "
                    "SELECT 'evt_' || :batch || '_' || g, 'acct_bench', "
                    "'followup.window_opened', CAST(:data AS json), now() "
                    "FROM generate_series(1, :count) AS g"
                ),
                {"batch": batch, "count": count, "data": json.dumps(event_data())},
            )
            await conn.execute(
                text(
                    "INSERT INTO webhook_deliveries (id, account_id, event_id, endpoint_id, "
                    "status, attempt_count, next_attempt_at, created_at, updated_at) "
                    "SELECT 'dlv_' || :batch || '_' || g, 'acct_bench', "
                    f"'evt_' || :batch || '_' || g, {endpoint}, 'pending', 0, "
                    "now() + interval '1 day', now(), now() "
                    "FROM generate_series(1, :count) AS g"
                ),
                {"batch": batch, "count": count},
            )
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))


async def payloads(engine: AsyncEngine, batch: str) -> list[Payload]:
    """The batch's deliveries as the worker sends them: the same envelope bytes, signed
    with the plain secret (opened here, untimed, so the bare loop does no decryption)."""
    async with create_sessionmaker(engine)() as session:
        rows = await session.execute(
            select(WebhookEndpoint.url, Event, WebhookEndpoint.secret)
            .join(WebhookDelivery, WebhookDelivery.endpoint_id == WebhookEndpoint.id)
            .join(Event, Event.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.id.like(f"dlv_{batch}_%"))
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


async def bare_loop(work: list[Payload], concurrency: int) -> float:
    """Seconds to POST every payload, signed, with `concurrency` lanes on one client."""
    queue: Iterator[Payload] = iter(work)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=10, trust_env=False, limits=limits) as client:

        async def lane() -> None:
            for url, event_id, body, secrets in queue:
                headers = webhook_headers(event_id, int(time.time()), body, secrets)
                response = await client.post(url, content=body, headers=headers)
                if response.status_code != 200:
                    raise RuntimeError(f"the receiver answered {response.status_code}")

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        return time.perf_counter() - started


async def worker_round(
    engine: AsyncEngine, batch: str, count: int, pid: int
) -> tuple[float, float]:
    """(seconds, worker CPU seconds) from releasing `batch` to all of it succeeded."""
    cpu_before = cpu_seconds(pid)
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE id LIKE :pattern"),
            {"pattern": f"dlv_{batch}_%"},
        )
        await conn.execute(text(f"NOTIFY {WAKEUP_CHANNEL}"))
    deadline = started + 300
    async with engine.connect() as conn:
        while True:
            await asyncio.sleep(0.02)
            done, failed = (
                await conn.execute(
                    text(
                        "SELECT count(*) FILTER (WHERE status = 'succeeded'), "
                        "count(*) FILTER (WHERE status = 'failed' OR attempt_count > 1) "
                        "FROM webhook_deliveries WHERE id LIKE :pattern"
                    ),
                    {"pattern": f"dlv_{batch}_%"},
                )
            ).one()
            await conn.commit()
            if failed:
                raise RuntimeError(f"{failed} deliveries of {batch} failed or were retried")
            if done >= count:
                break
            if time.perf_counter() > deadline:
                raise RuntimeError(f"batch {batch}: {done} of {count} delivered in 300 s")
    return time.perf_counter() - started, cpu_seconds(pid) - cpu_before


async def _measure(
    admin_url: str, deliveries: int, one_endpoint: int, rounds: int, logs: Path
) -> dict[str, float]:
    batches = {f"d{r}": (deliveries, ENDPOINTS) for r in range(rounds)}
    batches |= {f"o{r}": (one_endpoint, 1) for r in range(rounds)}
    results: dict[str, list[tuple[float, float, float]]] = {"delivery": [], "one_endpoint": []}
    with receiver_process() as receiver:
        async with scratch_pg_database(admin_url) as url:
            engine = create_engine(url)
            try:
                await seed(engine, receiver, batches)
                env = {
                    "FOLLOWUP_DATABASE_URL": url,
                    "FOLLOWUP_SECRET_KEY": SECRET_KEY,
                    "FOLLOWUP_RATE_LIMIT": NO_RATE_LIMIT,
                    "FOLLOWUP_WEBHOOK_ALLOW_PRIVATE": "true",
                    "FOLLOWUP_LOG_LEVEL": "WARNING",
                    "FOLLOWUP_WORKER_CONCURRENCY": str(CONCURRENCY),
                    "FOLLOWUP_WORKER_PER_ENDPOINT_CONCURRENCY": str(PER_ENDPOINT),
                }
                warm = await payloads(engine, "d0")
                await bare_loop(warm[:200], CONCURRENCY)
                with process(followup_command("worker"), env, logs / "worker.log") as worker:
                    await asyncio.sleep(2)  # started, first scheduler and retention ticks done
                    for r in range(rounds):
                        for kind, batch, lanes in (
                            ("delivery", f"d{r}", CONCURRENCY),
                            ("one_endpoint", f"o{r}", PER_ENDPOINT),
                        ):
                            count = batches[batch][0]
                            bare = await bare_loop(await payloads(engine, batch), lanes)
                            took, cpu = await worker_round(engine, batch, count, worker.pid)
                            results[kind].append((count / bare, count / took, cpu / count))
                            print(
                                f"  worker round {r + 1}/{rounds} {kind:13} "
                                f"bare {count / bare:7.1f}/s  worker {count / took:7.1f}/s  "
                                f"cpu {cpu * 1000 / count:5.2f} ms/delivery",
                                file=sys.stderr,
                                flush=True,
                            )
            finally:
                await engine.dispose()
    out: dict[str, float] = {}
    for kind, samples in results.items():
        bare_rate = statistics.median(s[0] for s in samples)
        worker_rate = statistics.median(s[1] for s in samples)
        out[f"worker.{kind}.rps"] = round(worker_rate, 1)
        out[f"worker.{kind}.bare_rps"] = round(bare_rate, 1)
        out[f"worker.{kind}.ratio_bare"] = round(statistics.median(s[1] / s[0] for s in samples), 3)
        out[f"worker.{kind}.cpu_ms"] = round(statistics.median(s[2] for s in samples) * 1000, 3)
    return out


def measure(
    admin_url: str, deliveries: int, one_endpoint: int, rounds: int, logs: Path
) -> dict[str, float]:
    return asyncio.run(_measure(admin_url, deliveries, one_endpoint, rounds, logs))
