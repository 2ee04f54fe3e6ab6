"""`followup worker` as real OS processes: graceful SIGTERM, and several workers sharing
PostgreSQL, one of them SIGKILLed, with nothing opened twice and nothing lost."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.crypto import SecretBox
from app.db.session import create_engine
from tests.conftest import PG_URL, SECRET_KEY
from tests.receiver import Receiver, Reply
from tests.worker.helpers import account_id, create_endpoint, deliveries_of, record

WINDOWS = 2000
WORKERS = 4


def worker_env(database_url: str, **extra: str) -> dict[str, str]:
    """The parent's environment minus its FOLLOWUP_* settings, plus the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env.update(
        FOLLOWUP_DATABASE_URL=database_url,
        FOLLOWUP_SECRET_KEY=SECRET_KEY,
        FOLLOWUP_WEBHOOK_ALLOW_PRIVATE="true",
        FOLLOWUP_LOG_LEVEL="WARNING",
        FOLLOWUP_WORKER_POLL_INTERVAL="0.3",
        # Several workers on one machine: each serves its metrics on a free port.
        FOLLOWUP_WORKER_PORT="0",
    )
    env.update(extra)
    return env


class Workers:
    """`followup worker` subprocesses, each logging to its own file."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, count: int) -> None:
        for _ in range(count):
            log = (self.logs / f"worker-{len(self.procs)}.log").open("wb")
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "app.cli", "worker"],
                    env=self.env,
                    cwd=self.logs,  # away from any .env in the repository
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            log.close()

    def terminate_all(self, timeout: float = 25.0) -> list[int | None]:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = []
        for proc in self.procs:
            try:
                codes.append(proc.wait(timeout=timeout))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                codes.append(None)
        return codes

    def log_text(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.logs.glob("worker-*.log")))


@pytest.fixture
def workers(tmp_path: Path, database_url: str) -> Iterator[Workers]:
    group = Workers(
        worker_env(
            database_url,
            FOLLOWUP_WEBHOOK_TIMEOUT="1",
            FOLLOWUP_WORKER_PER_ENDPOINT_CONCURRENCY="16",
        ),
        tmp_path,
    )
    yield group
    for proc in group.procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_sigterm_lets_the_in_flight_delivery_finish_and_exits_zero(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    tmp_path: Path,
    database_url: str,
) -> None:
    receiver.reply("/hook", Reply(200, delay=1.5))
    await create_endpoint(api, receiver.url())
    event = await record(sessionmaker, await account_id(api))
    group = Workers(worker_env(database_url), tmp_path)
    group.start(1)
    try:
        await receiver.wait_for(1, timeout=20)
        assert receiver.answered == []

        codes = await asyncio.to_thread(group.terminate_all, 20.0)

        assert codes == [0], group.log_text()
    finally:
        for proc in group.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert len(receiver.answered) == 1
    [delivery] = await deliveries_of(sessionmaker, event.id)
    assert delivery.status == "succeeded"


pg_only = pytest.mark.skipif(
    PG_URL is None,
    reason="several worker processes need PostgreSQL: set FOLLOWUP_TEST_DATABASE_URL",
)


async def _seed_due_windows(engine: AsyncEngine, url: str, count: int) -> None:
    """One account and endpoint, and `count` interviews whose thank-you window is due."""
    # Stored sealed, as the API stores it, with the key the worker processes are given.
    sealed = SecretBox([SECRET_KEY]).seal("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    statements = [
        "INSERT INTO accounts (id, name, created_at, updated_at) "
        "VALUES ('acct_load', 'Load', now(), now())",
        "INSERT INTO webhook_endpoints (id, account_id, url, event_types, enabled, secret, "
        "created_at, updated_at) VALUES ('we_load', 'acct_load', :url, '[]', true, "
        ":secret, now(), now())",
        "INSERT INTO candidates (id, account_id, name, timezone, created_at, updated_at) "
        "VALUES ('cand_load', 'acct_load', 'Load Test', 'UTC', now(), now())",
        "INSERT INTO interviews (id, account_id, candidate_id, company, role_title, starts_at, "
        "ends_at, timezone, decision, created_at, updated_at) "
        "SELECT 'intv_' || g, 'acct_load', 'cand_load', 'Northwind', 'Analyst', "
        "now() - interval '3 days', now() - interval '3 days' + interval '1 hour', 'UTC', "
        "'pending', now(), now() FROM generate_series(1, :count) AS g",
        "INSERT INTO followup_windows (id, account_id, interview_id, kind, opens_at, state, "
        "state_changed_at, created_at) "
        "SELECT 'win_' || g, 'acct_load', 'intv_' || g, 'thank_you', "
        "now() - interval '1 minute', 'pending', now(), now() FROM generate_series(1, :count) AS g",
    ]
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement), {"url": url, "count": count, "secret": sealed})


async def _count(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def _wait_until_delivered(engine: AsyncEngine, workers: Workers, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        done = await _count(
            engine, "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'"
        )
        if done >= WINDOWS:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{done}/{WINDOWS} delivered in {timeout} s\n{workers.log_text()}")
        await asyncio.sleep(0.25)


async def _assert_each_window_opened_once_and_delivered(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    opened = await _count(engine, "SELECT count(*) FROM followup_windows WHERE state = 'open'")
    assert opened == WINDOWS
    duplicates = await _count(
        engine,
        "SELECT count(*) FROM (SELECT data->'window'->>'id' FROM events "
        "WHERE type = 'followup.window_opened' GROUP BY 1 HAVING count(*) <> 1) AS d",
    )
    assert duplicates == 0
    events = await _count(
        engine, "SELECT count(*) FROM events WHERE type = 'followup.window_opened'"
    )
    assert events == WINDOWS
    async with engine.connect() as conn:
        event_ids = set((await conn.execute(text("SELECT id FROM events"))).scalars().all())
    received = {request.webhook_id for request in receiver.received()}
    assert received == event_ids, "every event received at least once"


@pg_only
async def test_four_workers_open_every_window_once_and_deliver_everything(
    database_url: str, receiver: Receiver, workers: Workers
) -> None:
    engine = create_engine(database_url)
    try:
        await _seed_due_windows(engine, receiver.url(), WINDOWS)
        workers.start(WORKERS)
        await _wait_until_delivered(engine, workers, timeout=30)
        await _assert_each_window_opened_once_and_delivered(engine, receiver)
        assert await asyncio.to_thread(workers.terminate_all) == [0] * WORKERS
    finally:
        await engine.dispose()


@pg_only
async def test_a_killed_worker_loses_nothing(
    database_url: str, receiver: Receiver, workers: Workers
) -> None:
    receiver.reply("/hook", Reply(200, delay=0.02))
    engine = create_engine(database_url)
    try:
        await _seed_due_windows(engine, receiver.url(), WINDOWS)
        workers.start(WORKERS)
        await receiver.wait_for(WINDOWS // 5, timeout=20)
        victim = workers.procs[0]
        victim.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(victim.wait, 5) == -signal.SIGKILL

        await _wait_until_delivered(engine, workers, timeout=30)

        await _assert_each_window_opened_once_and_delivered(engine, receiver)
        leased = await _count(
            engine,
            "SELECT count(*) FROM webhook_deliveries WHERE lease_token IS NOT NULL",
        )
        assert leased == 0
        codes = await asyncio.to_thread(workers.terminate_all)
        assert codes[1:] == [0] * (WORKERS - 1)
    finally:
        await engine.dispose()
