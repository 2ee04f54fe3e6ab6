"""Runs the delivery steps concurrently, so a slow endpoint never holds up the others.

Deliveries are claimed ahead, in batches, into a local queue per endpoint, and started
from it while the worker has a free slot (`worker_concurrency` attempts in flight) and
the endpoint has one (`worker_per_endpoint_concurrency`). A finished attempt frees its
slot as soon as the response is in, and the next queued delivery starts at once: no
claim round trip per delivery, and the result is recorded meanwhile (in batches too).
A slow endpoint can hold at most its share of the slots, and is claimed ahead only as
far as its attempts' pace lets every queued delivery start well inside its lease; one
that could not is handed back unsent.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections import Counter, deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

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

LINGER = 0.1
"""Seconds a batch of results waits for more while attempts are running: a commit costs
as much CPU as several attempts, and its results are only bookkeeping (each attempt's
lease outlasts it by at least `START_MARGIN`)."""

AHEAD = 8
"""An endpoint's local queue holds at most this many times its concurrency bound, and
the worker's queues together this many times `worker_concurrency`: every endpoint's
share of the leases is at most its share of the slots, so one endpoint's backlog never
crowds out the others."""

PACE_WEIGHT = 0.2
"""Weight of the latest attempt in an endpoint's running mean of attempt durations."""

PACE_MEMORY = 10_000
"""Endpoints whose pace is remembered; the least recently used are forgotten first."""


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

    Results that arrive while a batch is being written go into the next one, and while
    `pending()` says more attempts are running a batch waits up to `LINGER` for them:
    under load one commit serves many deliveries, and a result with no attempt running
    beside it is written at once. Callers wait for their own outcome.
    """

    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        rng: random.Random,
        pending: Callable[[], bool] = lambda: False,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self._rng = rng
        self._pending = pending
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
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            until = loop.time() + LINGER
            while len(batch) < MAX_BATCH:
                if not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                    continue
                if not self._pending() or loop.time() >= until:
                    break
                try:
                    async with asyncio.timeout_at(until):
                        batch.append(await self._queue.get())
                except TimeoutError:
                    break
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
        self.timeout = attempt_timeout(settings.webhook_timeout)
        self._start_window = (
            self.lease - timedelta(seconds=self.timeout) - START_MARGIN
        ).total_seconds()
        """Seconds after a claim during which its deliveries may still start."""
        self._wake = wake
        """Called when the loop should look again: a claim is worth making, or a retry was
        scheduled (so the loop can sleep until it falls due)."""
        self._writer = ResultWriter(
            settings, sessionmaker, rng or random.Random(), pending=lambda: bool(self._sends)
        )
        self._cap = settings.worker_per_endpoint_concurrency
        self._top = self._cap * (1 + AHEAD)
        self._budget = settings.worker_concurrency * (1 + AHEAD)
        """Deliveries leased at once at most: queued, being sent or being recorded."""
        self._claim_max = max(self._top, 2 * settings.worker_concurrency)
        """Deliveries leased per claim at most, so the first attempts start soon."""
        self._order = itertools.count()
        self._queues: dict[str, deque[tuple[int, WorkItem]]] = {}
        """Claimed deliveries not started yet, per endpoint, in claim order."""
        self._held: Counter[str] = Counter()
        """Leased deliveries per endpoint: queued, being sent or being recorded."""
        self._held_total = 0
        self._sending: Counter[str] = Counter()
        self._sends: set[asyncio.Task[None]] = set()
        """Tasks whose HTTP attempt is running: the slots in use."""
        self._tasks: dict[asyncio.Task[None], WorkItem] = {}
        self._releases: set[asyncio.Task[None]] = set()
        self._pace: dict[str, float] = {}
        """Running mean of each endpoint's attempt seconds, least recently used first."""
        self._limits: dict[str, int] = {}
        """Endpoints whose pace keeps their hold limit below the top: that limit."""
        self._more: set[str] = set()
        """Endpoints at their hold limit as the last claim saw them: more may be due."""
        self._cut = False
        """The last claim took all the room there was: more may be due anywhere."""
        self._accepting = True

    @property
    def backlog(self) -> bool:
        """True when the last claim was cut short by a bound: more work may be due."""
        return self._cut or bool(self._more)

    @property
    def in_flight(self) -> int:
        """HTTP attempts running now."""
        return len(self._sends)

    @property
    def held(self) -> int:
        """Deliveries leased now: queued, being sent or being recorded."""
        return self._held_total

    @property
    def queued(self) -> int:
        """Claimed deliveries waiting for a slot."""
        return sum(len(queue) for queue in self._queues.values())

    def hold_limit(self, endpoint_id: str) -> int:
        """Deliveries leased for one endpoint at most: its concurrency bound, plus a queue
        as deep as its pace allows (`AHEAD` times the bound for a fast one)."""
        return self._limits.get(endpoint_id, self._top)

    async def fill(self, news: bool = True) -> int:
        """Claim due deliveries if there is room to hold them; start what may start.

        One claim serves many deliveries: it leases up to each endpoint's hold limit,
        and later ones start from the local queues as slots free up. `news` says due
        work may exist that the last claim did not see (an event was committed, or the
        poll interval passed); without it, a claim is made only once one is due for the
        backlog the dispatcher knows of, so a burst of finished attempts costs one claim,
        not one each. Returns how many deliveries were claimed.
        """
        if not self._accepting or not (news or self._refill_due()):
            return 0
        room = min(self._budget - self._held_total, self._claim_max)
        if room <= 0:
            self._cut = True
            return 0
        # Every endpoint gets the same bound in the claim; an endpoint with a lower hold
        # limit counts the difference as held.
        busy = {endpoint: self._top - limit for endpoint, limit in self._limits.items()}
        for endpoint, count in self._held.items():
            busy[endpoint] = busy.get(endpoint, 0) + count
        async with self.sessionmaker() as session, session.begin():
            items = await claim_due(
                session,
                utcnow(),
                room,
                self.lease,
                box=self.settings.secret_box(),
                per_endpoint=self._top,
                busy=busy,
            )
        if not self._accepting:
            await self._release(items)
            return 0
        for item in items:
            self._queues.setdefault(item.endpoint_id, deque()).append((next(self._order), item))
            self._held[item.endpoint_id] += 1
        self._held_total += len(items)
        # Endpoints at their limit as this claim saw them: due work may wait behind them,
        # even if some of their deliveries finished while it ran (judging by the counts
        # after the claim would miss that, and sleep a poll interval).
        claimed = Counter(item.endpoint_id for item in items)
        self._more = {
            endpoint
            for endpoint in busy.keys() | claimed.keys()
            if busy.get(endpoint, 0) + claimed[endpoint] >= self._top
        }
        self._cut = len(items) == room
        self._pump()
        if self._refill_due():
            self._call_wake()
        return len(items)

    def _refill_due(self) -> bool:
        """Whether a claim would be worth its round trip now: after a claim that took all
        the room, once a quarter of the room is free again; for an endpoint that was at
        its limit, once half its queue's depth is."""
        room = self._budget - self._held_total
        if not self._accepting or room <= 0:
            return False
        if self._cut and room >= max(1, self._budget // 4):
            return True
        for endpoint in self._more:
            limit = self.hold_limit(endpoint)
            if limit - self._held[endpoint] >= max(1, (limit - self._cap) // 2):
                return True
        return False

    def _call_wake(self) -> None:
        if self._wake is not None:
            self._wake()

    def _pump(self) -> None:
        """Start queued deliveries, oldest claimed first, while the worker and their
        endpoint have a free slot; hand back those whose lease is too short to start."""
        expired: list[WorkItem] = []
        while self._accepting and len(self._sends) < self.settings.worker_concurrency:
            ready = [
                (queue[0][0], endpoint)
                for endpoint, queue in self._queues.items()
                if self._sending[endpoint] < self._cap
            ]
            if not ready:
                break
            endpoint = min(ready)[1]
            queue = self._queues[endpoint]
            item = queue.popleft()[1]
            if not queue:
                del self._queues[endpoint]
            if utcnow() > self._start_by(item):
                expired.append(item)
            else:
                self._start(item)
        if expired:
            for item in expired:
                self._forget(item)
            logger.info(
                "handed back %d deliveries whose lease ran short while queued", len(expired)
            )
            task = asyncio.create_task(self._release(expired), name="release leases")
            self._releases.add(task)
            task.add_done_callback(self._releases.discard)
            if self._refill_due():
                self._call_wake()

    def _start_by(self, item: WorkItem) -> datetime:
        """An item starts only if its lease outlasts a full attempt by `START_MARGIN`."""
        return item.locked_until - timedelta(seconds=self.timeout) - START_MARGIN

    def _start(self, item: WorkItem) -> None:
        task = asyncio.create_task(self._deliver(item), name=f"deliver {item.delivery_id}")
        self._tasks[task] = item
        self._sends.add(task)
        self._sending[item.endpoint_id] += 1
        task.add_done_callback(self._finished)

    def _sent(self, task: asyncio.Task[None] | None, item: WorkItem) -> None:
        """The attempt is over (or never ran): free its slots and start the next ones."""
        if task not in self._sends:
            return
        assert task is not None
        self._sends.discard(task)
        self._sending[item.endpoint_id] -= 1
        if self._sending[item.endpoint_id] <= 0:
            del self._sending[item.endpoint_id]
        self._pump()

    def _forget(self, item: WorkItem) -> None:
        self._held[item.endpoint_id] -= 1
        if self._held[item.endpoint_id] <= 0:
            del self._held[item.endpoint_id]
        self._held_total -= 1

    def _finished(self, task: asyncio.Task[None]) -> None:
        item = self._tasks.pop(task)
        self._sent(task, item)
        self._forget(item)
        if self._refill_due():
            self._call_wake()

    def _note_pace(self, endpoint_id: str, seconds: float) -> None:
        """Fold an attempt's duration into the endpoint's pace, and set its hold limit so
        that the last of its queue starts within half the start window."""
        previous = self._pace.pop(endpoint_id, None)
        pace = seconds if previous is None else previous + PACE_WEIGHT * (seconds - previous)
        self._pace[endpoint_id] = pace
        if len(self._pace) > PACE_MEMORY:
            oldest = next(iter(self._pace))
            del self._pace[oldest]
            self._limits.pop(oldest, None)
        deepest = self._cap * AHEAD
        fits = deepest if pace <= 0 else int(self._cap * self._start_window / 2 / pace)
        if fits < deepest:
            self._limits[endpoint_id] = self._cap + fits
        else:
            self._limits.pop(endpoint_id, None)

    async def _deliver(self, item: WorkItem) -> None:
        try:
            INFLIGHT.inc()
            try:
                result = await send_one(
                    self.client,
                    item.message,
                    utcnow(),
                    timeout=self.timeout,
                    allow_private=self.settings.webhook_allow_private,
                    resolver=self.resolver,
                    pool=item.endpoint_id,
                )
            finally:
                INFLIGHT.dec()
                self._sent(asyncio.current_task(), item)
            ATTEMPT_DURATION.observe(result.duration_ms / 1000)
            self._note_pace(item.endpoint_id, result.duration_ms / 1000)
            outcome = await self._writer.record(item, result)
            report_attempt(item, result, outcome)
            if outcome is not None and outcome.next_attempt_at is not None:
                self._call_wake()
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease runs out and the delivery is tried again: at least once, never lost.
            logger.exception("delivery %s: attempt not recorded", item.delivery_id)

    async def _release(self, items: Sequence[WorkItem]) -> None:
        """Hand leases back, so any worker may claim the deliveries at once."""
        if not items:
            return
        try:
            async with self.sessionmaker() as session, session.begin():
                await release(session, items)
        except Exception:
            logger.exception("could not release leases; they end on their own")

    async def drain(self, grace: float) -> None:
        """Stop starting attempts; let running ones finish within `grace` seconds.

        Queued deliveries are handed back at once; attempts still running after the
        grace are cancelled and their leases handed back too, so another worker retries
        them at once rather than when the lease ends.
        """
        self._accepting = False
        try:
            queued = [item for queue in self._queues.values() for _, item in queue]
            self._queues.clear()
            for item in queued:
                self._forget(item)
            await self._release(queued)
            if self._tasks:
                await self._finish_or_abandon(grace)
            if self._releases:
                await asyncio.gather(*self._releases, return_exceptions=True)
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
        await self._release(abandoned)
