"""Helpers for worker tests: resources through the API, events, and one dispatcher pass."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import utcnow
from app.db.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.enums import EventType
from app.schemas.events import EVENT_EXAMPLES
from app.services.events import record_event
from app.services.leases import (
    DeliveryOutcome,
    WorkItem,
    claim_some,
    lease_for,
    record_results,
)
from app.settings import Settings
from app.webhooks.sender import AttemptResult, attempt_timeout, send_one
from app.webhooks.ssrf import Resolver


async def claim_due(
    session: AsyncSession, now: datetime, limit: int, lease: timedelta, **options: Any
) -> list[WorkItem]:
    """The leased items of `claim_some`, for tests that only need those."""
    return (await claim_some(session, now, limit, lease, **options)).items


async def account_id(api: httpx.AsyncClient) -> str:
    return str((await api.get("/v1/account")).json()["id"])


async def create_endpoint(api: httpx.AsyncClient, url: str, **fields: Any) -> dict[str, Any]:
    response = await api.post("/v1/webhook-endpoints", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def record(
    sessionmaker: async_sessionmaker[AsyncSession],
    account: str,
    event_type: EventType = EventType.INTERVIEW_CREATED,
    data: BaseModel | None = None,
) -> Event:
    """An event committed the way services write them (fan-out included); its data is
    the catalog's example of its type unless given."""
    async with sessionmaker() as session, session.begin():
        return await record_event(
            session, account, event_type, data or EVENT_EXAMPLES[event_type], utcnow()
        )


async def send(
    client: httpx.AsyncClient,
    item: WorkItem,
    settings: Settings,
    *,
    now: datetime | None = None,
    resolver: Resolver | None = None,
) -> AttemptResult:
    """One attempt for a leased item, as the dispatcher makes it."""
    return await send_one(
        client,
        item.message,
        now or utcnow(),
        timeout=attempt_timeout(settings.webhook_timeout),
        allow_private=settings.webhook_allow_private,
        resolver=resolver,
    )


async def record_one(
    session: AsyncSession,
    item: WorkItem,
    result: AttemptResult,
    settings: Settings,
    now: datetime,
    seed: int,
) -> DeliveryOutcome | None:
    """`record_results` for a single attempt."""
    [outcome] = await record_results(session, [(item, result)], settings, now, random.Random(seed))
    return outcome


async def dispatch(
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    settings: Settings,
    *,
    now: datetime | None = None,
    resolver: Resolver | None = None,
    limit: int = 100,
    seed: int = 7,
) -> list[DeliveryOutcome | None]:
    """One dispatcher pass by hand: claim what is due at `now`, send each, record each."""
    now = now or utcnow()
    async with sessionmaker() as session, session.begin():
        items = await claim_due(session, now, limit, lease_for(settings), box=settings.secret_box())
    outcomes = []
    for item in items:
        result = await send(client, item, settings, resolver=resolver)
        async with sessionmaker() as session, session.begin():
            outcomes.append(await record_one(session, item, result, settings, now, seed))
    return outcomes


async def deliveries_of(
    sessionmaker: async_sessionmaker[AsyncSession], event_id: str
) -> list[WebhookDelivery]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.event_id == event_id)
        )
        return list(rows.all())


async def attempts_of(
    sessionmaker: async_sessionmaker[AsyncSession], delivery_id: str
) -> list[WebhookAttempt]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.attempted_at, WebhookAttempt.id)
        )
        return list(rows.all())


async def endpoint_row(
    sessionmaker: async_sessionmaker[AsyncSession], endpoint_id: str
) -> WebhookEndpoint:
    async with sessionmaker() as session:
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None
        return endpoint
