"""Wake-ups from PostgreSQL NOTIFY, shared by every reader in a process.

The outbox NOTIFYs `followup_wakeup` when a transaction with events commits. One
LISTEN connection per process, held while anyone waits, turns that into an asyncio
wake-up; readers still poll, so a lost connection (or SQLite, which has no NOTIFY)
costs latency, never events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)

RECONNECT_SECONDS = 1.0


async def listen(
    conn: AsyncConnection, channel: str, callback: Callable[[], None]
) -> asyncio.Event:
    """LISTEN on `channel` over this (asyncpg) connection, calling `callback` on each
    notification; the event returned is set when the connection is lost. The caller
    must invalidate the connection afterwards, never return it to the pool."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    if driver is None:
        raise RuntimeError("the database connection is already closed")
    lost = asyncio.Event()
    driver.add_termination_listener(lambda _conn: lost.set())
    await driver.add_listener(channel, lambda *_args: callback())
    return lost


class Wakeups:
    """`wait()` returns True when a notification came, False when the timeout ran out."""

    def __init__(self, engine: AsyncEngine, channel: str) -> None:
        self.engine = engine
        self.channel = channel
        self._event = asyncio.Event()
        self._users = 0
        self._task: asyncio.Task[None] | None = None

    def fire(self, *_args: object) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, timeout: float) -> bool:
        event = self._event
        try:
            async with asyncio.timeout(max(0.0, timeout)):
                await event.wait()
        except TimeoutError:
            return False
        return True

    def acquire(self) -> None:
        """A reader starts: listen while there is at least one (PostgreSQL only)."""
        self._users += 1
        if self._task is None and self.engine.dialect.name == "postgresql":
            self._task = asyncio.create_task(self._listen(), name="stream wake-ups")

    async def release(self) -> None:
        self._users -= 1
        if self._users == 0 and self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _listen(self) -> None:
        while True:
            try:
                async with self.engine.connect() as conn:
                    try:
                        await self._listen_on(conn)
                    finally:
                        # Never hand a LISTENing connection back to the pool.
                        await conn.invalidate()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("stream wake-ups lost; polling until they are back", exc_info=True)
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen_on(self, conn: AsyncConnection) -> None:
        lost = await listen(conn, self.channel, self.fire)
        self.fire()  # whatever committed before LISTEN took effect
        await lost.wait()
