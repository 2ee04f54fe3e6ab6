"""The background worker's outer loop: it only schedules; each step is a service call."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings

logger = logging.getLogger(__name__)


class Worker:
    """Runs until `stop()`. Scheduler and dispatcher steps arrive with the webhook work;
    until then the loop idles honestly, doing nothing on each tick."""

    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        logger.info("worker started")
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(
                    self._stopping.wait(), timeout=self.settings.worker_poll_interval
                )
            except TimeoutError:
                continue
        logger.info("worker stopped")
