"""SQLite: writers of one process take turns, in order, without blocking an event loop.

SQLite lets one transaction write at a time. A writer that finds the database busy
sleeps and tries again (Python's sqlite3 busy handler: sleeps growing to 100 ms), so
under many writing requests a writer can lose race after race for seconds: in
`followup serve` that was the worker recording deliveries while the API recorded
attempts (event -> receipt p99 above 5 s). Here each write transaction first takes its
database's turn, first come first served, across the event loops of the process (the
API's and the worker thread's), and hands it to the next writer when it ends.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import deque

from sqlalchemy.engine import make_url


class WriteTurn:
    """A first-come-first-served lock usable from any event loop of the process."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiting: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()

    async def take(self, timeout: float) -> bool:
        """Wait for the turn; False after `timeout` seconds without it."""
        loop = asyncio.get_running_loop()
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn: asyncio.Future[None] = loop.create_future()
            self._waiting.append((loop, turn))
        try:
            await asyncio.wait_for(turn, timeout)
        except TimeoutError:
            with self._mutex:
                if (loop, turn) in self._waiting:
                    self._waiting.remove((loop, turn))
            # Handed over meanwhile: `_receive` sees the cancelled future and passes it on.
            return False
        return True

    def give_back(self) -> None:
        """End this turn: the longest waiting writer gets it, else it is free."""
        with self._mutex:
            if not self._waiting:
                self._held = False
                return
            loop, turn = self._waiting.popleft()
        try:
            loop.call_soon_threadsafe(self._receive, turn)
        except RuntimeError:  # that loop has closed: pass the turn on
            self.give_back()

    def _receive(self, turn: asyncio.Future[None]) -> None:
        if turn.done():  # the waiter gave up just before: the next one gets the turn
            self.give_back()
        else:
            turn.set_result(None)


_TURNS: dict[str, WriteTurn] = {}
_TURNS_LOCK = threading.Lock()


def write_turn(url: str) -> WriteTurn:
    """The turn of the SQLite database at `url`, shared by every engine of the process."""
    database = make_url(url).database or ""
    key = database if database in ("", ":memory:") else os.path.realpath(database)
    with _TURNS_LOCK:
        return _TURNS.setdefault(key, WriteTurn())
