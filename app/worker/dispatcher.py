"""Runs the delivery steps concurrently, so a slow endpoint never holds up the others.

Admission happens at claim time: the dispatcher claims only as many deliveries as it has
free slots (`worker_concurrency`) and never more for one endpoint than its free share
(`worker_per_endpoint_concurrency`). Every claimed delivery therefore starts its attempt
at once in its own task; no task queues behind another, and a slow endpoint can hold at
most its share of the slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import utcnow
from app.enums import DeliveryStatus
from app.logs import loggable_url
from app.metrics import ATTEMPT_DURATION, DELIVERIES, ENDPOINTS_DISABLED, INFLIGHT
from app.services.leases import (
    DeliveryOutcome,
    WorkItem,
    claim_due,
    lease_for,
    record_results,
    release,
)
from app.settings import Settings
from app.webhooks.sender import AttemptResult, attempt_timeout, send_one
from app.webhooks.ssrf import Resolver

logger = logging.getLogger(__name__)

START_MARGIN = timedelta(seconds=1)
"""An item starts only if its lease outlasts a full attempt by this much."""

MAX_BATCH = 100
"""Results written per transaction at most."""


OUTCOMES = {
    DeliveryStatus.SUCCEEDED: "succeeded",
    DeliveryStatus.PENDING: "retrying",
    DeliveryStatus.FAILED: "failed",
}
"""The `outcome` label of `followup_webhook_deliveries_total` for a delivery's new status."""


def report_attempt(item: WorkItem, result: AttemptResult, outcome: DeliveryOutcome | None) -> None:
    """One log line per attempt (never the URL's query string), and the outcome metrics."""
    fields = {
        "event_id": item.message.event_id,
        "delivery_id": item.delivery_id,
        "endpoint_id": item.endpoint_id,
        "url": loggable_url(item.message.url),
        "attempt": item.attempt_number,
        "status_code": result.status_code,
        "error": result.error,
        "duration_ms": result.duration_ms,
    }
    if outcome is None:
        logger.warning(
            "webhook attempt not recorded: another worker holds the delivery now",
            extra={**fields, "outcome": "lease_lost"},
        )
        return
    label = OUTCOMES[outcome.status]
    DELIVERIES.labels(label).inc()
    answer = result.error or f"HTTP {result.status_code}"
    logger.log(
        logging.WARNING if label == "failed" else logging.INFO,
        "webhook attempt %s: %s (%s)",
        item.delivery_id,
        answer,
        label,
        extra={
            **fields,
            "outcome": label,
            "next_attempt_at": outcome.next_attempt_at.isoformat()
            if outcome.next_attempt_at
            else None,
        },
    )
    if outcome.endpoint_disabled:
        ENDPOINTS_DISABLED.inc()
        reason = "410 Gone" if result.gone else "every attempt failed for 5 days"
        logger.warning(
            "webhook endpoint %s disabled: %s",
            item.endpoint_id,
            reason,
            extra={"endpoint_id": item.endpoint_id, "reason": reason},
        )


class ResultWriter:
    """Records attempt results in batches, one transaction per batch.

    Results that arrive while a batch is being written go into the next one, so under
    load a commit serves many deliveries, and with light traffic each result is still
    written at once. Callers wait for their own outcome, so a delivery's slot is only
    freed once its result is stored.
    """

    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        rng: random.Random,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self._rng = rng
        self._queue: asyncio.Queue[
            tuple[WorkItem, AttemptResult, asyncio.Future[DeliveryOutcome | None]]
        ] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def record(self, item: WorkItem, result: AttemptResult) -> DeliveryOutcome | None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="result writer")
        outcome: asyncio.Future[DeliveryOutcome | None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, result, outcome))
        return await outcome

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                async with self.sessionmaker() as session, session.begin():
                    outcomes = await record_results(
                        session,
                        [(item, result) for item, result, _ in batch],
                        self.settings,
                        utcnow(),
                        self._rng,
                    )
            except Exception as exc:
                for *_, waiter in batch:
                    if not waiter.done():
                        waiter.set_exception(exc)
                continue
            for (*_, waiter), outcome in zip(batch, outcomes, strict=True):
                if not waiter.done():
                    waiter.set_result(outcome)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        client: httpx.AsyncClient,
        *,
        resolver: Resolver | None = None,
        wake: Callable[[], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.client = client
        self.resolver = resolver
        self.lease = lease_for(settings)
        self._wake = wake
        """Called when the loop should look again: a slot freed up with work waiting, or a
        retry was scheduled (so the loop can sleep until it falls due)."""
        self._writer = ResultWriter(settings, sessionmaker, rng or random.Random())
        self._per_endpoint: Counter[str] = Counter()
        self._tasks: dict[asyncio.Task[None], WorkItem] = {}
        self._accepting = True
        self.backlog = False
        """True when the last claim was cut short by capacity: more work may be due."""

    @property
    def free_slots(self) -> int:
        return max(0, self.settings.worker_concurrency - len(self._tasks))

    async def fill(self) -> int:
        """Claim due deliveries while there is room; start each one. Returns how many."""
        limit = self.settings.worker_per_endpoint_concurrency
        started = 0
        while self._accepting:
            room = self.free_slots
            if room == 0:
                self.backlog = True
                break
            busy = dict(self._per_endpoint)
            full_before = {endpoint for endpoint, count in busy.items() if count >= limit}
            async with self.sessionmaker() as session, session.begin():
                items = await claim_due(
                    session,
                    utcnow(),
                    room,
                    self.lease,
                    box=self.settings.secret_box(),
                    per_endpoint=limit,
                    busy=busy,
                )
            for item in items:
                self._start(item)
            started += len(items)
            # Endpoints that were at their cap as this claim saw them: due work may wait
            # behind them, even if some of their attempts finished while it ran (judging
            # by the counts after the claim would miss that, and sleep a poll interval).
            claimed = Counter(item.endpoint_id for item in items)
            capped = {
                endpoint
                for endpoint in busy.keys() | claimed.keys()
                if busy.get(endpoint, 0) + claimed[endpoint] >= limit
            }
            self.backlog = len(items) == room or bool(capped)
            if len(items) == room or not (capped - full_before):
                break
            # An endpoint just filled up; others' deliveries may be due behind its backlog.
        return started

    def _start(self, item: WorkItem) -> None:
        self._per_endpoint[item.endpoint_id] += 1
        task = asyncio.create_task(self._deliver(item), name=f"deliver {item.delivery_id}")
        self._tasks[task] = item
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        item = self._tasks.pop(task)
        self._per_endpoint[item.endpoint_id] -= 1
        if self._per_endpoint[item.endpoint_id] <= 0:
            del self._per_endpoint[item.endpoint_id]
        # Refill in batches: one claim per quarter of the slots, not one per delivery.
        refill = self.free_slots >= max(1, self.settings.worker_concurrency // 4)
        if self.backlog and refill and self._wake is not None:
            self._wake()

    async def _deliver(self, item: WorkItem) -> None:
        try:
            timeout = attempt_timeout(self.settings.webhook_timeout)
            deadline = item.locked_until - timedelta(seconds=timeout)
            now = utcnow()
            if not self._accepting or now > deadline - START_MARGIN:
                async with self.sessionmaker() as session, session.begin():
                    await release(session, [item])
                return
            INFLIGHT.inc()
            try:
                result = await send_one(
                    self.client,
                    item.message,
                    now,
                    timeout=timeout,
                    allow_private=self.settings.webhook_allow_private,
                    resolver=self.resolver,
                )
            finally:
                INFLIGHT.dec()
            ATTEMPT_DURATION.observe(result.duration_ms / 1000)
            outcome = await self._writer.record(item, result)
            report_attempt(item, result, outcome)
            if outcome is not None and outcome.next_attempt_at is not None and self._wake:
                self._wake()
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease runs out and the delivery is tried again: at least once, never lost.
            logger.exception("delivery %s: attempt not recorded", item.delivery_id)

    async def drain(self, grace: float) -> None:
        """Stop starting attempts; let running ones finish within `grace` seconds.

        Attempts still running after that are cancelled and their leases handed back, so
        another worker retries them at once rather than when the lease ends.
        """
        self._accepting = False
        try:
            if self._tasks:
                await self._finish_or_abandon(grace)
        finally:
            await self._writer.close()

    async def _finish_or_abandon(self, grace: float) -> None:
        _, pending = await asyncio.wait(list(self._tasks), timeout=grace)
        if not pending:
            return
        abandoned = [self._tasks[task] for task in pending]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        logger.warning("released %d deliveries still running at shutdown", len(abandoned))
        try:
            async with self.sessionmaker() as session, session.begin():
                await release(session, abandoned)
        except Exception:
            logger.exception("could not release leases; they end on their own")
