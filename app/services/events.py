"""The event outbox: one row per change, written in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Event
from app.enums import EventType
from app.errors import NotFoundError
from app.services.pagination import PageRequest, paginate
from app.services.views import format_utc
from app.services.webhooks import fan_out, notify_workers


async def record_event(
    session: AsyncSession, account_id: str, event_type: EventType, data: dict[str, Any]
) -> Event:
    """Store the event beside the change that causes it, with a pending delivery per
    subscribed webhook endpoint; the caller's commit publishes them all (the outbox)."""
    event = Event(account_id=account_id, type=event_type.value, data=data)
    session.add(event)
    await session.flush()
    await fan_out(session, event)
    await notify_workers(session)
    return event


def envelope(event: Event) -> dict[str, Any]:
    """The webhook body and the `GET /v1/events/{id}` response."""
    return {
        "id": event.id,
        "type": event.type,
        "created_at": format_utc(event.created_at),
        "data": event.data,
    }


async def get_event(session: AsyncSession, account_id: str, event_id: str) -> Event:
    event = await session.scalar(
        select(Event).where(Event.id == event_id, Event.account_id == account_id)
    )
    if event is None:
        raise NotFoundError("No such event.")
    return event


async def list_events(
    session: AsyncSession, account_id: str, page: PageRequest, event_type: EventType | None
) -> tuple[list[Event], str | None]:
    stmt = select(Event).where(Event.account_id == account_id)
    if event_type is not None:
        stmt = stmt.where(Event.type == event_type.value)
    return await paginate(session, stmt, page, sort=Event.created_at, tiebreak=Event.id)
