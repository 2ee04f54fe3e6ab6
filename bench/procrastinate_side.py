"""The procrastinate half of `bench/compare_procrastinate.py`; runs in its temporary venv.

Not imported by the project (procrastinate is not one of its dependencies). Reads the
deliveries from a JSON file (url, event id, body, secret), applies procrastinate's schema
to the given database, defers one job per delivery (untimed), then times one worker
(`concurrency` jobs at once, exits when the queue is empty) running a task that signs
(Standard Webhooks, HMAC-SHA256, stdlib only) and POSTs each body with one shared
`httpx.AsyncClient`. Prints one JSON line: {"seconds", "jobs", "cpu_seconds"}.

Usage: python procrastinate_side.py CONNINFO DELIVERIES.json CONCURRENCY
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import resource
import sys
import time
from typing import Any

import httpx
import procrastinate

CONNINFO, PAYLOADS, CONCURRENCY = sys.argv[1], sys.argv[2], int(sys.argv[3])

app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=CONNINFO))
_client: httpx.AsyncClient | None = None


def client() -> httpx.AsyncClient:
    global _client
    if _client is None:
        limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
        _client = httpx.AsyncClient(timeout=10, trust_env=False, limits=limits)
    return _client


def signature(msg_id: str, timestamp: int, body: bytes, secret: str) -> str:
    encoded = secret.removeprefix("whsec_")
    key = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


@app.task(name="deliver", retry=5)
async def deliver(url: str, event_id: str, body: str, secret: str) -> None:
    raw = body.encode()
    timestamp = int(time.time())
    headers = {
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(event_id, timestamp, raw, secret),
        "content-type": "application/json",
    }
    response = await client().post(url, content=raw, headers=headers)
    response.raise_for_status()


async def main() -> None:
    with open(PAYLOADS) as handle:
        deliveries: list[dict[str, Any]] = json.load(handle)
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        for item in deliveries:
            await deliver.defer_async(**item)
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        await app.run_worker_async(
            concurrency=CONCURRENCY, wait=False, install_signal_handlers=False
        )
        seconds = time.perf_counter() - started
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    print(json.dumps({"seconds": seconds, "jobs": len(deliveries), "cpu_seconds": cpu}))


if __name__ == "__main__":
    asyncio.run(main())
