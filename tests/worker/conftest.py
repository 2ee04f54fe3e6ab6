"""Worker fixtures: a real local receiver, fast settings, a session factory, an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.settings import Settings
from tests.receiver import Receiver

FAST_SCHEDULE = (0.2, 0.2, 0.2)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.close()


@pytest.fixture
def sessionmaker(app: Any) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return factory


@pytest.fixture
def worker_settings(settings: Settings) -> Settings:
    """Private addresses allowed (the receiver is on loopback), short timeouts and retries."""
    return settings.model_copy(
        update={
            "webhook_retry_schedule": FAST_SCHEDULE,
            "webhook_timeout": 2.0,
            "worker_poll_interval": 0.2,
        }
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as client:
        yield client
