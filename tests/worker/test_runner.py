"""The worker loop end to end: latency, slow-endpoint isolation, graceful stop, retention."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import utcnow
from app.db.models import (
    Event,
    IdempotencyRecord,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.enums import EventType
from app.services.leases import Claim
from app.settings import Settings
from app.worker import dispatcher as dispatcher_module
from app.worker.runner import Worker
from tests.api.factories import create_interview
from tests.conftest import PG_URL
from tests.receiver import Receiver, Reply
from tests.worker.helpers import (
    account_id,
    attempts_of,
    create_endpoint,
    deliveries_of,
    dispatch,
    record,
)

Sessions = async_sessionmaker[AsyncSession]


@asynccontextmanager
async def running(worker: Worker) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0.2)  # let it start its first tick
    try:
        yield task
    finally:
        worker.stop()
        await asyncio.wait_for(task, timeout=25)


async def test_new_event_reaches_the_receiver_within_two_seconds(
    api: httpx.AsyncClient, sessionmaker: Sessions, worker_settings: Settings, receiver: Receiver
) -> None:
    settings = worker_settings.model_copy(update={"worker_poll_interval": 1.0})
    await create_endpoint(api, receiver.url())
    account = await account_id(api)
    async with running(Worker(settings, sessionmaker)):
        await asyncio.sleep(0.5)
        started = time.monotonic()
        event = await record(sessionmaker, account)
        await receiver.wait_for(1, timeout=2.0)
        assert receiver.received()[0].arrived - started < 2.0
    [delivery] = await deliveries_of(sessionmaker, event.id)
    assert delivery.status == "succeeded"


async def test_due_window_opens_once_and_reaches_the_receiver_within_two_seconds(
    api: httpx.AsyncClient, sessionmaker: Sessions, worker_settings: Settings, receiver: Receiver
) -> None:
    settings = worker_settings.model_copy(update={"worker_poll_interval": 1.0})
    await create_endpoint(api, receiver.url(), event_types=["followup.window_opened"])
    async with running(Worker(settings, sessionmaker)):
        started = time.monotonic()
        ended = utcnow() - timedelta(days=2)
        interview = await create_interview(
            api, starts_at=(ended - timedelta(hours=1)).isoformat(), ends_at=ended.isoformat()
        )
        await receiver.wait_for(1, timeout=2.0)
        assert receiver.received()[0].arrived - started < 2.0
        await asyncio.sleep(0.5)  # more ticks: nothing opens twice
    [request] = receiver.received()
    thank_you = next(w for w in interview["windows"] if w["kind"] == "thank_you")
    opened = (await api.get("/v1/events", params={"type": "followup.window_opened"})).json()
    assert [e["data"]["window"]["id"] for e in opened["data"]] == [thank_you["id"]]
    assert request.webhook_id == opened["data"][0]["id"]
    windows = (await api.get(f"/v1/interviews/{interview['id']}/windows")).json()["data"]
    assert {w["kind"]: w["state"] for w in windows}["thank_you"] == "open"


async def test_worker_retries_on_schedule_without_waiting_for_the_poll(
    api: httpx.AsyncClient, sessionmaker: Sessions, worker_settings: Settings, receiver: Receiver
) -> None:
    settings = worker_settings.model_copy(update={"worker_poll_interval": 5.0})
    receiver.reply("/hook", Reply(500), Reply(500), Reply(200))
    await create_endpoint(api, receiver.url())
    event = await record(sessionmaker, await account_id(api))
    async with running(Worker(settings, sessionmaker)):
        await receiver.wait_for(3, timeout=2.0)
        await asyncio.sleep(0.2)
    assert {r.webhook_id for r in receiver.received()} == {event.id}
    [delivery] = await deliveries_of(sessionmaker, event.id)
    assert [a.status_code for a in await attempts_of(sessionmaker, delivery.id)] == [500, 500, 200]


async def test_slow_endpoint_never_delays_a_fast_one(
    api: httpx.AsyncClient, sessionmaker: Sessions, worker_settings: Settings, receiver: Receiver
) -> None:
    settings = worker_settings.model_copy(
        update={
            "webhook_timeout": 10.0,
            "worker_concurrency": 4,
            "worker_per_endpoint_concurrency": 2,
            "shutdown_grace_seconds": 0.2,
        }
    )
    receiver.reply("/slow", Reply(200, delay=8.0))
    await create_endpoint(api, receiver.url("/slow"))
    account = await account_id(api)
    for _ in range(6):
        await record(sessionmaker, account)  # six deliveries queue up for the slow endpoint
    await create_endpoint(api, receiver.url("/fast"))
    async with running(Worker(settings, sessionmaker)):
        for _ in range(6):
            await record(sessionmaker, account)
        # All six fast deliveries land while the slow endpoint still holds its two.
        await receiver.wait_for(6, "/fast", timeout=6.0)
        assert len(receiver.received("/slow")) == 2, "per-endpoint concurrency bound"
        assert len({r.webhook_id for r in receiver.received("/fast")}) == 6
        # The receiver records a request before answering it; none of the slow ones is
        # answered yet, so the fast ones did not wait behind them.
        assert not [r for r in receiver.answered if r.path == "/slow"], "slow ones still wait"


async def test_stop_lets_an_in_flight_delivery_finish(
    api: httpx.AsyncClient, sessionmaker: Sessions, worker_settings: Settings, receiver: Receiver
) -> None:
    receiver.reply("/hook", Reply(200, delay=1.0))
    await create_endpoint(api, receiver.url())
    event = await record(sessionmaker, await account_id(api))
    worker = Worker(worker_settings, sessionmaker)
    task = asyncio.create_task(worker.run())
    await receiver.wait_for(1)

    worker.stop()
    await asyncio.wait_for(task, timeout=10)

    assert len(receiver.answered) == 1
    [delivery] = await deliveries_of(sessionmaker, event.id)
    assert delivery.status == "succeeded"
    assert len(await attempts_of(sessionmaker, delivery.id)) == 1


async def test_stop_after_the_grace_period_hands_the_delivery_back(
    api: httpx.AsyncClient, sessionmaker: Sessions, worker_settings: Settings, receiver: Receiver
) -> None:
    settings = worker_settings.model_copy(
        update={"webhook_timeout": 10.0, "shutdown_grace_seconds": 0.3}
    )
    receiver.reply("/hook", Reply(200, delay=5.0))
    await create_endpoint(api, receiver.url())
    event = await record(sessionmaker, await account_id(api))
    worker = Worker(settings, sessionmaker)
    task = asyncio.create_task(worker.run())
    await receiver.wait_for(1)

    started = time.monotonic()
    worker.stop()
    await asyncio.wait_for(task, timeout=10)

    assert time.monotonic() - started < 2.0
    [delivery] = await deliveries_of(sessionmaker, event.id)
    assert (delivery.status, delivery.attempt_count) == ("pending", 0)
    assert delivery.lease_token is None and delivery.locked_until is None


@pytest.mark.skipif(PG_URL is None, reason="LISTEN/NOTIFY needs FOLLOWUP_TEST_DATABASE_URL")
async def test_notify_wakes_the_worker_long_before_its_poll(
    api: httpx.AsyncClient, sessionmaker: Sessions, worker_settings: Settings, receiver: Receiver
) -> None:
    settings = worker_settings.model_copy(update={"worker_poll_interval": 30.0})
    await create_endpoint(api, receiver.url())
    account = await account_id(api)
    async with running(Worker(settings, sessionmaker)):
        await asyncio.sleep(0.5)
        for _ in range(3):
            started = time.monotonic()
            await record(sessionmaker, account)
            count = len(receiver.received()) + 1
            await receiver.wait_for(count, timeout=1.0)
            assert receiver.received()[-1].arrived - started < 1.0


async def _age(sessionmaker: Sessions, event_id: str, days: int) -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(Event)
            .where(Event.id == event_id)
            .values(created_at=utcnow() - timedelta(days=days))
        )


async def test_retention_prunes_old_finished_history_only(
    api: httpx.AsyncClient,
    new_account: Any,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    receiver.reply("/retrying", Reply(500))
    await create_endpoint(api, receiver.url("/ok"), event_types=["interview.created"])
    await create_endpoint(api, receiver.url("/retrying"), event_types=["interview.updated"])
    off = await create_endpoint(api, receiver.url("/off"), event_types=["interview.decided"])
    account = await account_id(api)
    delivered = await record(sessionmaker, account, EventType.INTERVIEW_CREATED)
    retrying = await record(sessionmaker, account, EventType.INTERVIEW_UPDATED)
    stranded = await record(sessionmaker, account, EventType.INTERVIEW_DECIDED)
    unsent = await record(sessionmaker, account, EventType.CONTACT_ATTEMPT_RECORDED)
    recent = await record(sessionmaker, account, EventType.INTERVIEW_CREATED)
    await api.patch(f"/v1/webhook-endpoints/{off['id']}", json={"enabled": False})
    await dispatch(sessionmaker, http, worker_settings)
    for event in (delivered, retrying, stranded, unsent):
        await _age(sessionmaker, event.id, worker_settings.retention_days + 1)
    await _age(sessionmaker, recent.id, worker_settings.retention_days - 1)

    assert await Worker(worker_settings, sessionmaker).prune() is True

    async with sessionmaker() as session:
        kept = set((await session.scalars(select(Event.id))).all())
        deliveries = (await session.scalar(select(func.count()).select_from(WebhookDelivery))) or 0
        attempts = (await session.scalar(select(func.count()).select_from(WebhookAttempt))) or 0
        endpoints = (await session.scalar(select(func.count()).select_from(WebhookEndpoint))) or 0
    assert kept == {retrying.id, recent.id}, "still retrying for an enabled endpoint, or young"
    assert deliveries == 2  # the retrying one and the recent one
    assert attempts == 2  # their attempts: one failed try each (recent: one success)
    assert endpoints == 3


async def test_retention_forgets_idempotency_keys_after_24_hours(
    api: httpx.AsyncClient, sessionmaker: Sessions, worker_settings: Settings
) -> None:
    for key in ("old", "young"):
        response = await api.post(
            "/v1/candidates", json={"name": key}, headers={"Idempotency-Key": key}
        )
        assert response.status_code == 201
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == "old")
            .values(created_at=utcnow() - timedelta(hours=25))
        )

    assert await Worker(worker_settings, sessionmaker).prune() is True

    async with sessionmaker() as session:
        keys = set((await session.scalars(select(IdempotencyRecord.key))).all())
    assert keys == {"young"}


async def test_one_endpoint_backlog_drains_at_its_cap_without_waiting_for_the_poll(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    worker_settings: Settings,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """All the work for one subscriber: claims run ahead of its cap (one claim feeds many
    attempts) and queues refill as they run low, without sleeping a poll interval, while
    no more than the cap are ever in flight to it."""
    settings = worker_settings.model_copy(
        update={
            "worker_poll_interval": 30.0,
            "worker_concurrency": 8,
            "worker_per_endpoint_concurrency": 2,
        }
    )
    receiver.reply("/hook", Reply(200, delay=0.02))
    await create_endpoint(api, receiver.url())
    account = await account_id(api)
    events = [await record(sessionmaker, account) for _ in range(40)]
    claimed: list[int] = []
    claim_some = dispatcher_module.claim_some

    async def counted(*args: Any, **kwargs: Any) -> Claim:
        claim = await claim_some(*args, **kwargs)
        claimed.append(len(claim.items))
        return claim

    monkeypatch.setattr(dispatcher_module, "claim_some", counted)
    in_flight = 0
    started = time.monotonic()
    async with running(Worker(settings, sessionmaker)):
        while len(receiver.answered) < len(events):
            in_flight = max(in_flight, len(receiver.requests) - len(receiver.answered))
            assert time.monotonic() - started < 10.0, f"{len(receiver.answered)} delivered"
            await asyncio.sleep(0.005)
    assert in_flight <= 2, "the per-endpoint cap"
    assert max(claimed) > 2, "claimed ahead of the cap"
    assert sum(claimed) == len(events), "each claimed once"
    for event in events:
        [delivery] = await deliveries_of(sessionmaker, event.id)
        assert delivery.status == "succeeded"


def test_every_endpoint_client_shares_one_parsed_ca_bundle(
    worker_settings: Settings, sessionmaker: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsing the CA bundle took 25 ms of CPU per client: a worker parses it once, not
    once per endpoint it delivers to."""
    loaded: list[object] = []
    original = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loaded.append(args or kwargs)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    worker = Worker(worker_settings, sessionmaker)
    assert len(loaded) == 1
    clients = [worker._client(4) for _ in range(10)]
    assert len(loaded) == 1
    assert all(isinstance(client, httpx.AsyncClient) for client in clients)
