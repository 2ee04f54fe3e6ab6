"""Runs the delivery steps concurrently, so a slow endpoint never holds up the others.

Admission has two parts. A claim leases, per endpoint, its cap
(`worker_per_endpoint_concurrency`) plus as many more as can surely start well within
their lease at that endpoint's recent pace (an unknown pace counts as a full attempt
timeout; at most `CLAIM_AHEAD` times the cap), and never more in all than
`HOLD_FACTOR` times `worker_concurrency`; the rest is left to other workers. Claimed
deliveries wait in a per-endpoint queue and start as slots free up: at most the cap per
endpoint and `worker_concurrency` in all send at once, so a slow endpoint can hold at
most its share of the slots. One claim thus feeds many attempts, and an attempt's slot
is freed as soon as its HTTP exchange ends, while its result is stored in the next
batch. A queued delivery whose lease became too short for a full attempt is handed back
at once (and said in the log), never sent late nor kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.clock import utcnow
from app.db.session import create_sessionmaker, reader
from app.enums import DeliveryStatus
from app.logs import loggable_url
from app.metrics import ATTEMPT_DURATION, DELIVERIES, ENDPOINTS_DISABLED, INFLIGHT
from app.services.leases import (
    DeliveryOutcome,
    WorkItem,
    claim_some,
    lease_for,
    record_results,
    release,
    writes_once,
)
from app.settings import Settings
from app.webhooks.sender import AttemptResult, attempt_timeout, send_one
from app.webhooks.ssrf import Resolver

logger = logging.getLogger(__name__)

START_MARGIN = timedelta(seconds=1)
"""An item starts only if its lease outlasts a full attempt by this much."""

MAX_BATCH = 100
"""Results written per transaction at most."""

LINGER = 0.01
"""Seconds a batch of results may wait for those of attempts still running."""

CLAIM_AHEAD = 16
"""Queued deliveries an endpoint may have beyond its running ones, in multiples of its cap."""

HOLD_FACTOR = 2
"""Deliveries a worker holds (queued, sending or recording), in multiples of
`worker_concurrency`; the rest is left to other workers."""

MIN_PACE = 0.001
PACE_WEIGHT = 0.25
"""Weight of a faster attempt in an endpoint's pace; a slower one counts in full."""
PACE_MEMORY = 4096
"""Endpoints whose pace is remembered (least recently used forgotten first)."""


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


def _autocommit(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession] | None:
    """On PostgreSQL, sessions whose statements each commit on their own: for work that is
    one statement, or whose statements need no common transaction (a claim leases in one
    UPDATE), it saves the BEGIN and COMMIT round trips."""
    engine = sessionmaker.kw.get("bind")
    if not isinstance(engine, AsyncEngine) or engine.dialect.name != "postgresql":
        return None
    return create_sessionmaker(reader(engine))


class ResultWriter:
    """Records attempt results in batches, one transaction per batch (or, on PostgreSQL,
    one statement when they are all successes: see `writes_once`).

    Results that arrive while a batch is being written go into the next one; and while
    attempts are still running (`sending`), a batch waits up to `LINGER` seconds for
    their results, so under load a write serves many deliveries. The last result of a
    burst, with nothing left running, is written at once. Callers wait for their own
    outcome; the delivery keeps its lease until then, and `record_results` writes nothing
    for a lease that was taken over.
    """

    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        rng: random.Random,
        sending: Callable[[], int] = lambda: 0,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self._sending = sending
        self._autocommit = _autocommit(sessionmaker)
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
            batch = await self._gather()
            results = [(item, result) for item, result, _ in batch]
            once = self._autocommit is not None and writes_once("postgresql", results)
            sessions = self._autocommit if once and self._autocommit else self.sessionmaker
            try:
                async with sessions() as session, session.begin():
                    outcomes = await record_results(
                        session,
                        results,
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

    async def _gather(
        self,
    ) -> list[tuple[WorkItem, AttemptResult, asyncio.Future[DeliveryOutcome | None]]]:
        batch = [await self._queue.get()]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LINGER
        while len(batch) < MAX_BATCH:
            if not self._queue.empty():
                batch.append(self._queue.get_nowait())
                continue
            wait = deadline - loop.time()
            if wait <= 0 or not self._sending():
                break
            try:
                async with asyncio.timeout(wait):
                    batch.append(await self._queue.get())
            except TimeoutError:
                break
        return batch

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


CLIENTS_KEPT = 64
"""Endpoints whose HTTP client (and its idle connections) is kept between attempts."""


async def _close_all(clients: list[httpx.AsyncClient]) -> None:
    for client in clients:
        with contextlib.suppress(Exception):
            await client.aclose()


class EndpointClients:
    """One HTTP client, a connection pool of at most the per-endpoint cap, per endpoint.

    httpcore checks every pooled connection (a poll and a getpeername each) whenever it
    hands out or takes back a connection, so one pool shared by all endpoints charged
    each attempt for every idle connection of every endpoint: with 32 kept alive, about
    as much CPU as the attempt itself. The least recently used clients beyond
    `CLIENTS_KEPT` are closed once none of their attempts is running.
    """

    def __init__(self, factory: Callable[[], httpx.AsyncClient], kept: int = CLIENTS_KEPT) -> None:
        self._factory = factory
        self._kept = kept
        self._clients: OrderedDict[str, httpx.AsyncClient] = OrderedDict()

    def get(self, endpoint: str) -> httpx.AsyncClient:
        client = self._clients.pop(endpoint, None)
        if client is None:
            client = self._factory()
        self._clients[endpoint] = client
        return client

    def surplus(self, running: Callable[[str], bool]) -> list[httpx.AsyncClient]:
        """Take out the least recently used clients beyond the kept number that no
        running attempt uses; the caller closes them."""
        extra = len(self._clients) - self._kept
        if extra <= 0:
            return []
        idle = [endpoint for endpoint in self._clients if not running(endpoint)][:extra]
        return [self._clients.pop(endpoint) for endpoint in idle]

    async def aclose(self) -> None:
        clients = list(self._clients.values())
        self._clients.clear()
        for client in clients:
            with contextlib.suppress(Exception):
                await client.aclose()


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
        clients: EndpointClients | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.client = client
        self._clients = clients
        """Per-endpoint clients when given; otherwise every attempt uses `client`."""
        self.resolver = resolver
        self.lease = lease_for(settings)
        self._timeout = attempt_timeout(settings.webhook_timeout)
        self._slack = (self.lease - START_MARGIN).total_seconds() - self._timeout
        """Seconds a claimed delivery may wait and still start with a full attempt left."""
        self._cap = settings.worker_per_endpoint_concurrency
        self._max_held = HOLD_FACTOR * settings.worker_concurrency
        self._wake = wake
        """Called when the loop should look again: a queue ran low with work waiting, or a
        retry was scheduled (so the loop can sleep until it falls due)."""
        self._writer = ResultWriter(
            settings, sessionmaker, rng or random.Random(), sending=lambda: len(self._in_send)
        )
        self._claims = _autocommit(sessionmaker) or sessionmaker
        """Claims run without a transaction on PostgreSQL: the UPDATE that leases is atomic
        on its own, and the reads around it need none."""
        self._queued: dict[str, deque[WorkItem]] = {}
        self._queued_count = 0
        self._sending: Counter[str] = Counter()
        self._in_send: set[str] = set()
        """Delivery ids whose HTTP attempt holds a slot."""
        self._tasks: dict[asyncio.Task[None], WorkItem] = {}
        self._chores: set[asyncio.Task[None]] = set()
        self._pace: OrderedDict[str, float] = OrderedDict()
        """Recent seconds per attempt, by endpoint (most recently used last)."""
        self._more: set[str] = set()
        """Endpoints the last claim left at their bound: more of theirs may be due."""
        self._room_short = False
        self._accepting = True
        self.backlog = False
        """True when the last claim was cut short by a bound: more work may be due."""

    def _bound(self, endpoint: str) -> int:
        """Deliveries of `endpoint` to hold at once: its cap, plus as many queued as start
        within half the slack at its recent pace (an unknown pace counts as a full timeout)."""
        pace = max(self._pace.get(endpoint, self._timeout), MIN_PACE)
        ahead = int(self._cap * self._slack / (2 * pace))
        return self._cap + max(0, min(ahead, CLAIM_AHEAD * self._cap))

    def _held(self, endpoint: str) -> int:
        queue = self._queued.get(endpoint)
        return self._sending[endpoint] + (len(queue) if queue else 0)

    def _held_total(self) -> int:
        return self._queued_count + len(self._tasks)

    async def fill(self) -> int:
        """Claim due deliveries while there is room; queue and start them. Returns how many."""
        await self._release(self._take_stale(utcnow()), stale=True)
        claimed_total = 0
        while self._accepting:
            room = self._max_held - self._held_total()
            if room <= 0:
                self._room_short = self.backlog = True
                break
            busy = {
                endpoint: self._held(endpoint)
                for endpoint in self._sending.keys() | self._queued.keys()
            }
            full_before = {
                endpoint for endpoint, count in busy.items() if count >= self._bound(endpoint)
            }
            async with self._claims() as session, session.begin():
                claim = await claim_some(
                    session,
                    utcnow(),
                    room,
                    self.lease,
                    box=self.settings.secret_box(),
                    per_endpoint=self._bound,
                    busy=busy,
                )
            items = claim.items
            for item in items:
                self._queued.setdefault(item.endpoint_id, deque()).append(item)
            self._queued_count += len(items)
            self._pump()
            claimed_total += len(items)
            # Endpoints at their bound as this claim saw them: due work may wait behind
            # them, even if some of their attempts finished while it ran (judging by the
            # counts after the claim would miss that, and sleep a poll interval). When the
            # scan saw every due row, it knows which endpoints it left work for.
            claimed = Counter(item.endpoint_id for item in items)
            self._more = full_before | claim.left
            if not claim.complete:
                self._more |= {
                    endpoint
                    for endpoint in claimed
                    if busy.get(endpoint, 0) + claimed[endpoint] >= self._bound(endpoint)
                }
            self._room_short = len(items) == room
            self.backlog = self._room_short or bool(self._more)
            if len(items) == room or claim.complete or not (self._more - full_before):
                break
            # An endpoint just filled up; others' deliveries may be due behind its backlog,
            # beyond what the scan looked at.
        return claimed_total

    def _pump(self) -> None:
        """Start queued deliveries while their endpoint and the worker have free slots."""
        if not self._accepting:
            return
        now = utcnow()
        stale: list[WorkItem] = []
        concurrency = self.settings.worker_concurrency
        for endpoint in list(self._queued):
            if len(self._in_send) >= concurrency:
                break
            queue = self._queued[endpoint]
            started = False
            while (
                queue and self._sending[endpoint] < self._cap and len(self._in_send) < concurrency
            ):
                item = queue.popleft()
                self._queued_count -= 1
                if now > self._start_by(item):
                    stale.append(item)
                    continue
                self._launch(item)
                started = True
            if not queue:
                del self._queued[endpoint]
            elif started:
                # Served: to the back of the line, so busy endpoints take turns at the slots.
                self._queued[endpoint] = self._queued.pop(endpoint)
        if stale:
            self._release_soon(stale)

    def _start_by(self, item: WorkItem) -> datetime:
        """The last moment `item` may start: its lease must outlast a full attempt."""
        return item.locked_until - timedelta(seconds=self._timeout) - START_MARGIN

    def _take_stale(self, now: datetime) -> list[WorkItem]:
        """Remove the queued items that can no longer start in time (each queue is in
        claim order, so they are at its front)."""
        stale: list[WorkItem] = []
        for endpoint in list(self._queued):
            queue = self._queued[endpoint]
            while queue and now > self._start_by(queue[0]):
                stale.append(queue.popleft())
            if not queue:
                del self._queued[endpoint]
        self._queued_count -= len(stale)
        return stale

    def _launch(self, item: WorkItem) -> None:
        self._sending[item.endpoint_id] += 1
        self._in_send.add(item.delivery_id)
        task = asyncio.create_task(self._deliver(item), name=f"deliver {item.delivery_id}")
        self._tasks[task] = item
        task.add_done_callback(self._finished)

    def _sent(self, item: WorkItem) -> None:
        """The attempt's HTTP exchange is over: free its slot for the next queued one."""
        if item.delivery_id not in self._in_send:
            return
        self._in_send.discard(item.delivery_id)
        self._sending[item.endpoint_id] -= 1
        if self._sending[item.endpoint_id] <= 0:
            del self._sending[item.endpoint_id]
        self._pump()
        self._refill_if_low(item.endpoint_id)

    def _refill_if_low(self, endpoint: str) -> None:
        """Wake the loop to claim when a queue with more due behind it is half empty, or
        a quarter of the worker's room is free again: one claim then feeds many attempts."""
        if self._wake is None:
            return
        bound = self._bound(endpoint)
        low = (
            endpoint in self._more and self._held(endpoint) <= self._cap + (bound - self._cap) // 2
        )
        room = self._room_short and (
            self._max_held - self._held_total() >= max(1, self.settings.worker_concurrency // 4)
        )
        if low or room:
            self._wake()

    def _client_for(self, endpoint: str) -> httpx.AsyncClient:
        if self._clients is None:
            return self.client
        client = self._clients.get(endpoint)
        surplus = self._clients.surplus(lambda other: other in self._sending)
        if surplus:
            task = asyncio.create_task(_close_all(surplus), name="close idle clients")
            self._chores.add(task)
            task.add_done_callback(self._chores.discard)
        return client

    def _note_pace(self, endpoint: str, seconds: float) -> None:
        """A slower attempt counts in full at once, a faster one gradually."""
        pace = self._pace.pop(endpoint, None)
        if pace is None or seconds >= pace:
            pace = seconds
        else:
            pace += PACE_WEIGHT * (seconds - pace)
        self._pace[endpoint] = pace
        if len(self._pace) > PACE_MEMORY:
            self._pace.popitem(last=False)

    def _finished(self, task: asyncio.Task[None]) -> None:
        item = self._tasks.pop(task)
        if item.delivery_id in self._in_send:
            self._sent(item)
        else:
            self._refill_if_low(item.endpoint_id)

    async def _deliver(self, item: WorkItem) -> None:
        try:
            try:
                now = utcnow()
                if not self._accepting or now > self._start_by(item):
                    await self._release([item])
                    return
                INFLIGHT.inc()
                try:
                    result = await send_one(
                        self._client_for(item.endpoint_id),
                        item.message,
                        now,
                        timeout=self._timeout,
                        allow_private=self.settings.webhook_allow_private,
                        resolver=self.resolver,
                    )
                finally:
                    INFLIGHT.dec()
                self._note_pace(item.endpoint_id, result.duration_ms / 1000)
            finally:
                self._sent(item)
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

    async def _release(self, items: list[WorkItem], *, stale: bool = False) -> None:
        """Hand back leases of items that will not be sent, so any worker may claim them."""
        if not items:
            return
        if stale:
            logger.warning(
                "released %d queued deliveries whose lease ran short before they could start",
                len(items),
                extra={"released": len(items)},
            )
        try:
            async with self.sessionmaker() as session, session.begin():
                await release(session, items)
        except Exception:
            logger.exception("could not release %d leases; they end on their own", len(items))

    def _release_soon(self, items: list[WorkItem]) -> None:
        task = asyncio.create_task(self._release(items, stale=True), name="release stale leases")
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)

    async def drain(self, grace: float) -> None:
        """Stop starting attempts; hand back queued ones at once and let running ones
        finish within `grace` seconds.

        Attempts still running after that are cancelled and their leases handed back, so
        another worker retries them at once rather than when the lease ends.
        """
        self._accepting = False
        try:
            queued = [item for queue in self._queued.values() for item in queue]
            self._queued.clear()
            self._queued_count = 0
            await self._release(queued)
            if self._chores:
                await asyncio.gather(*self._chores, return_exceptions=True)
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
