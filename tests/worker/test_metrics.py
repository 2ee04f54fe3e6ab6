"""`followup worker` as a real process serves `/metrics` and `/healthz` on
`FOLLOWUP_WORKER_PORT`; after real deliveries and windows its metrics show the work."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.api.factories import create_interview
from tests.receiver import Receiver, Reply
from tests.worker.helpers import create_endpoint
from tests.worker.test_processes import Workers, worker_env

WAIT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def samples(text: str) -> dict[str, float]:
    """`name{label="value"}` → value, for every sample."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


EXPECTED_ABOVE_ZERO = [
    'followup_webhook_deliveries_total{outcome="succeeded"}',
    'followup_webhook_deliveries_total{outcome="retrying"}',
    'followup_webhook_deliveries_total{outcome="failed"}',
    "followup_webhook_endpoints_disabled_total",
    "followup_webhook_attempt_duration_seconds_count",
    "followup_windows_opened_total",
    "followup_scheduler_tick_duration_seconds_count",
    "followup_scheduler_tick_lag_seconds_count",
    "followup_worker_inflight_deliveries",
    "followup_webhook_deliveries_pending",
    "followup_webhook_oldest_due_delivery_age_seconds",
]


async def test_a_standalone_worker_serves_metrics_that_show_its_work(
    api: httpx.AsyncClient, receiver: Receiver, tmp_path: Path, database_url: str
) -> None:
    receiver.reply("/flaky", Reply(500))
    receiver.reply("/gone", Reply(410))
    receiver.reply("/slow", Reply(200, delay=15))
    for path in ("/ok", "/flaky", "/gone", "/slow"):
        await create_endpoint(api, receiver.url(path))
    # An interview long past: its follow-up windows are due at once.
    await create_interview(api, starts_at="2026-01-05T10:00:00+00:00")
    port = free_port()
    group = Workers(
        worker_env(
            database_url,
            FOLLOWUP_WORKER_PORT=str(port),
            FOLLOWUP_WEBHOOK_RETRY_SCHEDULE="3600",
            FOLLOWUP_WEBHOOK_TIMEOUT="20",
            FOLLOWUP_SHUTDOWN_GRACE_SECONDS="0",
        ),
        tmp_path,
    )
    group.start(1)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as http:
            found = await _scrape_until_busy(http, group)
            health = await http.get("/healthz")
    finally:
        codes = await asyncio.to_thread(group.terminate_all)

    missing = [name for name in EXPECTED_ABOVE_ZERO if found.get(name, 0) <= 0]
    assert missing == [], group.log_text()
    assert found["followup_windows_oldest_due_age_seconds"] >= 0
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    assert codes == [0], group.log_text()


async def _scrape_until_busy(http: httpx.AsyncClient, group: Workers) -> dict[str, float]:
    """Scrape until every expected metric is above zero (or the wait runs out)."""
    deadline = time.monotonic() + WAIT
    found: dict[str, float] = {}
    while time.monotonic() < deadline:
        try:
            response = await http.get("/metrics")
        except httpx.TransportError:
            await asyncio.sleep(0.1)  # not listening yet
            continue
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        found = samples(response.text)
        if all(found.get(name, 0) > 0 for name in EXPECTED_ABOVE_ZERO):
            break
        assert group.procs[0].poll() is None, group.log_text()
        await asyncio.sleep(0.1)
    return found
