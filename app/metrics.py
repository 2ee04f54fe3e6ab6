"""Prometheus metrics of the worker, the gauges read from the database at scrape time,
and the one way `/metrics` renders them.

Each process serves its own registry: the API at `/metrics` on its port, every
`followup worker` at `/metrics` on `FOLLOWUP_WORKER_PORT`, and Prometheus scrapes each
as a target (sum counters over targets). `followup serve` on PostgreSQL, whose worker is
a child process, shows that process's worker families at its own `/metrics`. Several
uvicorn processes behind one port (`followup api --workers N`) are the exception: give
them a `PROMETHEUS_MULTIPROC_DIR` (empty at start) and prometheus-client's multiprocess
mode adds their values up, so any of them answers for all. See `docs/operations.md`.

The HTTP request metrics live beside their middleware (`app.api.middleware`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
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

WORKER_FAMILIES = frozenset(
    family.name
    for metric in (
        DELIVERIES,
        ATTEMPT_DURATION,
        ENDPOINTS_DISABLED,
        WINDOWS_OPENED,
        SCHEDULER_TICK,
        SCHEDULER_LAG,
        INFLIGHT,
        PENDING_DELIVERIES,
        OLDEST_DUE_DELIVERY,
        OLDEST_DUE_WINDOW,
    )
    for family in metric.describe()
)
"""What the worker measures: the families `followup serve` reads from its worker process."""

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


class _Families(Collector):
    """Metric families already collected, but for those named in `hidden`."""

    def __init__(self, families: Iterable[Metric], hidden: frozenset[str] = frozenset()) -> None:
        self.families = families
        self.hidden = hidden

    def collect(self) -> Iterable[Metric]:
        return (family for family in self.families if family.name not in self.hidden)


def render_metrics(worker_text: str | None = None) -> tuple[bytes, str]:
    """The exposition text and its content type: this process's registry, or every
    process's values in multiprocess mode. `worker_text`, the text of `followup serve`'s
    worker process, replaces this process's families of the same names (the worker's
    counters, never moved here), so each family appears once."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    if worker_text is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    worker = [
        family
        for family in text_string_to_metric_families(worker_text)
        if family.name.removesuffix("_created") in WORKER_FAMILIES
    ]
    merged = CollectorRegistry(auto_describe=False)
    merged.register(_Families(REGISTRY.collect(), WORKER_FAMILIES))
    merged.register(_Families(worker))
    return generate_latest(merged), CONTENT_TYPE_LATEST
