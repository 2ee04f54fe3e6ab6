"""The background worker's outer loop: it only schedules; each step is a service call.

Steps: open due follow-up windows (`open_due_windows`), send due webhook deliveries (the
`Dispatcher` around `claim_some` / `send_one` / `record_results`), and now and then prune
old history (`prune_history`). Every step runs in its own short transactions, so any
number of workers can share a PostgreSQL database and a killed one loses nothing.

Latency without busy polling: on PostgreSQL a dedicated connection LISTENs on
`followup_wakeup`, which every committed event NOTIFYs, and the loop also sleeps only
until the next scheduled retry; otherwise (and always on SQLite) it polls every
`worker_poll_interval` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.clock import utcnow
from app.db.faults import database_unavailable, database_unmigrated
from app.db.notify import listen
from app.metrics import SCHEDULER_LAG, SCHEDULER_TICK, WINDOWS_OPENED
from app.services import idempotency
from app.services.endpoints import WAKEUP_CHANNEL
from app.services.events import prune_history
from app.services.leases import next_delivery_due
from app.services.windows import open_due_windows
from app.settings import Settings
from app.webhooks.ssrf import Resolver
from app.worker.dispatcher import Dispatcher, EndpointClients

logger = logging.getLogger(__name__)

WINDOW_BATCH = 500
"""Windows opened per transaction; the scheduler repeats while batches come back full."""

PRUNE_BATCH = 500
PRUNE_EVERY = 3600.0
"""Seconds between retention runs once the history is pruned up to date."""
PRUNE_BUDGET = 5.0
"""Seconds one retention run may take; a backlog carries over to a run a minute later."""
PRUNE_SOON = 60.0

MAX_BACKOFF = 30.0
"""Longest wait between tries while the database is away."""
FAULT_LOG_EVERY = 60.0
"""Seconds between the log lines that say the database is still away."""

T = TypeVar("T")


class Worker:
    """Runs until `stop()`; `followup serve` and `followup worker` both use it."""

    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        resolver: Resolver | None = None,
    ) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.resolver = resolver
        self._stopping = asyncio.Event()
        self._fault_since: float | None = None
        """Loop time the database first failed in the current outage."""
        self._fault_said: float | None = None
        self._wake = asyncio.Event()
        self.last_beat: float | None = None
        """`loop.time()` of the loop's latest turn: `/healthz` tells a stuck loop by it."""
        self._tls = httpx.create_ssl_context(trust_env=False)
        """One TLS context (the CA bundle, parsed once) for every client: building one
        took 25 ms of CPU, and a client per endpoint paid it on the first delivery to
        each endpoint and again whenever an evicted endpoint came back."""

    def stop(self) -> None:
        """Stop taking work; `run()` returns once running deliveries finish (or the grace ends)."""
        self._stopping.set()
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        logger.info("worker started")
        client = self._client(self.settings.worker_concurrency)
        clients = EndpointClients(
            lambda: self._client(self.settings.worker_per_endpoint_concurrency)
        )
        async with client:
            dispatcher = Dispatcher(
                self.settings,
                self.sessionmaker,
                client,
                resolver=self.resolver,
                wake=self.wake,
                clients=clients,
            )
            listener = asyncio.create_task(self._listen(), name="wake-up listener")
            try:
                await self._loop(dispatcher)
            finally:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
                await dispatcher.drain(self.settings.shutdown_grace_seconds)
                await clients.aclose()
        logger.info("worker stopped")

    def _client(self, connections: int) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=httpx.Timeout(self.settings.webhook_timeout),
            follow_redirects=False,
            # No proxies or netrc from the environment: requests go to the checked address.
            trust_env=False,
            verify=self._tls,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def _loop(self, dispatcher: Dispatcher) -> None:
        loop = asyncio.get_running_loop()
        poll = self.settings.worker_poll_interval
        next_schedule = next_prune = loop.time()
        while not self._stopping.is_set():
            self._wake.clear()
            self.last_beat = loop.time()
            if loop.time() >= next_schedule:
                started = loop.time()
                SCHEDULER_LAG.observe(started - next_schedule)
                await self._step("scheduler", self.open_windows)
                SCHEDULER_TICK.observe(loop.time() - started)
                next_schedule = loop.time() + poll
            if loop.time() >= next_prune:
                caught_up = await self._step("retention", self.prune)
                next_prune = loop.time() + (PRUNE_EVERY if caught_up else PRUNE_SOON)
            if await self._step("dispatcher", dispatcher.fill) is None:
                await self._sleep(self._backoff(poll))
                continue
            delay = next_schedule - loop.time()
            if not dispatcher.backlog:
                due = await self._step("dispatcher", self._next_due)
                if due is not None:
                    delay = min(delay, due)
            await self._sleep(delay)

    async def _step(self, name: str, step: Callable[[], Awaitable[T]]) -> T | None:
        """Run a step; a failure is logged and the loop carries on (None).

        While the database is away or unmigrated, that is said in one line a minute
        (not a traceback per step) and the loop backs off, up to `MAX_BACKOFF`.
        """
        try:
            result = await step()
        except Exception as exc:
            if database_unmigrated(exc):
                self._database_fault("the database is not migrated: run `followup migrate`")
            elif database_unavailable(exc):
                self._database_fault(f"the database is unreachable ({type(exc).__name__})")
            else:
                logger.exception("worker %s step failed", name)
            return None
        if self._fault_since is not None:
            logger.warning("the database is back; the worker resumes")
            self._fault_since = self._fault_said = None
        return result

    def _database_fault(self, reason: str) -> None:
        now = asyncio.get_running_loop().time()
        if self._fault_since is None:
            self._fault_since = now
        if self._fault_said is None or now - self._fault_said >= FAULT_LOG_EVERY:
            logger.error("%s; retrying with back-off", reason)
            self._fault_said = now

    def _backoff(self, poll: float) -> float:
        """Seconds to wait after a step failed: the poll interval, doubling while the
        database stays away, at most `MAX_BACKOFF`."""
        if self._fault_since is None:
            return poll
        waited = asyncio.get_running_loop().time() - self._fault_since
        return min(MAX_BACKOFF, max(poll, waited))

    async def _sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    async def open_windows(self) -> int:
        """Open every due window, one transaction per batch."""
        opened = 0
        while not self._stopping.is_set():
            async with self.sessionmaker() as session, session.begin():
                batch = await open_due_windows(session, utcnow(), WINDOW_BATCH)
            WINDOWS_OPENED.inc(batch)
            opened += batch
            if batch < WINDOW_BATCH:
                break
        if opened:
            logger.info("opened %d follow-up windows", opened, extra={"windows_opened": opened})
        return opened

    async def prune(self) -> bool:
        """Delete history older than `retention_days`, and idempotency keys past their 24 h,
        in small batches; True when caught up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PRUNE_BUDGET
        now = utcnow()
        cutoff = now - timedelta(days=self.settings.retention_days)
        while not self._stopping.is_set() and loop.time() < deadline:
            async with self.sessionmaker() as session, session.begin():
                pruned = await prune_history(session, cutoff, PRUNE_BATCH)
                keys = await idempotency.prune(session, now, PRUNE_BATCH)
            if pruned < PRUNE_BATCH and keys < PRUNE_BATCH:
                return True
        return False

    async def _next_due(self) -> float | None:
        """Seconds until the next scheduled retry, if one is pending."""
        now = utcnow()
        async with self.sessionmaker() as session:
            due = await next_delivery_due(session, now)
        return None if due is None else max(0.0, (due - now).total_seconds())

    async def _listen(self) -> None:
        """Hold a LISTEN connection (PostgreSQL) and wake the loop on each notification.

        Reconnects after a poll interval when the connection drops; the loop keeps polling
        meanwhile, so a lost listener costs latency, never work.
        """
        engine = self.sessionmaker.kw.get("bind")
        if not isinstance(engine, AsyncEngine) or engine.dialect.name != "postgresql":
            return
        while not self._stopping.is_set():
            try:
                async with engine.connect() as conn:
                    try:
                        await self._listen_on(conn)
                    finally:
                        # Never hand a LISTENing connection back to the pool.
                        await conn.invalidate()
            except Exception:
                logger.warning("wake-up listener lost; polling until it is back", exc_info=True)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.worker_poll_interval):
                    await self._stopping.wait()

    async def _listen_on(self, conn: AsyncConnection) -> None:
        lost = await listen(conn, WAKEUP_CHANNEL, self.wake)
        self.wake()  # work committed before LISTEN took effect is picked up now
        stopping = asyncio.create_task(self._stopping.wait())
        gone = asyncio.create_task(lost.wait())
        try:
            await asyncio.wait({stopping, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            gone.cancel()
