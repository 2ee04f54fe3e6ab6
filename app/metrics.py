"""Prometheus metrics of the worker, the gauges read from the database at scrape time,
and the one way `/metrics` renders them.

Each process serves its own registry: the API at `/metrics` on its port, every
`followup worker` at `/metrics` on `FOLLOWUP_WORKER_PORT`, and Prometheus scrapes each
as a target (sum counters over targets). Several uvicorn processes behind one port
(`followup api --workers N`) are the exception: give them a `PROMETHEUS_MULTIPROC_DIR`
(empty at start) and prometheus-client's multiprocess mode adds their values up, so any
of them answers for all. See `docs/operations.md`.

The HTTP request metrics live beside their middleware (`app.api.middleware`).
"""

from __future__ import annotations

import asyncio
import logging
import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import utcnow
from app.services.queue_stats import queue_stats

logger = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

DELIVERIES = Counter(
    "followup_webhook_deliveries_total",
    "Webhook attempts by what they led to: succeeded, retrying (a retry is scheduled) or "
    "failed (given up: schedule spent, or 410 Gone)",
    ["outcome"],
)
ATTEMPT_DURATION = Histogram(
    "followup_webhook_attempt_duration_seconds",
    "Duration of one webhook attempt: DNS, connect, request, response and its first 1 KiB",
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 50.0),
)
ENDPOINTS_DISABLED = Counter(
    "followup_webhook_endpoints_disabled_total",
    "Endpoints the worker disabled (410 Gone, or 5 days of failures)",
)
WINDOWS_OPENED = Counter("followup_windows_opened_total", "Follow-up windows opened")
SCHEDULER_TICK = Histogram(
    "followup_scheduler_tick_duration_seconds",
    "Duration of one scheduler tick (opening every due window)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SCHEDULER_LAG = Histogram(
    "followup_scheduler_tick_lag_seconds",
    "How late a scheduler tick started after it was due (a busy or blocked event loop)",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
INFLIGHT = Gauge(
    "followup_worker_inflight_deliveries",
    "Webhook attempts running now in this worker",
    multiprocess_mode="livesum",
)
PENDING_DELIVERIES = Gauge(
    "followup_webhook_deliveries_pending",
    "Pending deliveries to enabled endpoints, due or scheduled (read at scrape)",
    multiprocess_mode="livemostrecent",
)
OLDEST_DUE_DELIVERY = Gauge(
    "followup_webhook_oldest_due_delivery_age_seconds",
    "How long the longest-waiting due delivery has been due; 0 when none (read at scrape)",
    multiprocess_mode="livemostrecent",
)
OLDEST_DUE_WINDOW = Gauge(
    "followup_windows_oldest_due_age_seconds",
    "How long the longest-waiting due window has stayed pending; 0 when none (read at scrape)",
    multiprocess_mode="livemostrecent",
)

QUEUE_STATS_TIMEOUT = 5.0
"""Seconds a scrape waits for the database before serving the gauges' last values."""


async def refresh_queue_gauges(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Read the queue from the database into the gauges; on failure keep the last values."""
    try:
        async with asyncio.timeout(QUEUE_STATS_TIMEOUT), sessionmaker() as session:
            stats = await queue_stats(session, utcnow())
    except Exception:
        logger.warning("could not read the queue for the metrics", exc_info=True)
        return
    PENDING_DELIVERIES.set(stats.pending_deliveries)
    OLDEST_DUE_DELIVERY.set(stats.oldest_due_delivery_age)
    OLDEST_DUE_WINDOW.set(stats.oldest_due_window_age)


def render_metrics() -> tuple[bytes, str]:
    """The exposition text and its content type: this process's registry, or every
    process's values in multiprocess mode."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
