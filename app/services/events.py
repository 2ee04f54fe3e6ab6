"""The event outbox: one row per change, written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import new_id, utcnow
from app.db.models import Event
from app.enums import EventType
from app.errors import NotFoundError
from app.services.pagination import PageRequest, paginate
from app.services.views import format_utc
from app.services.webhooks import StoredEvent, fan_out, notify_workers


async def record_event(
    session: AsyncSession, account_id: str, event_type: EventType, data: dict[str, Any]
) -> Event:
    """Store the event beside the change that causes it, with a pending delivery per
    subscribed webhook endpoint; the caller's commit publishes them all (the outbox)."""
    event = Event(account_id=account_id, type=event_type.value, data=data)
    session.add(event)
    await session.flush()
    await fan_out(session, [StoredEvent(event.id, account_id, event.type, event.created_at)])
    await notify_workers(session)
    return event


@dataclass(frozen=True)
class NewEvent:
    account_id: str
    type: EventType
    data: dict[str, Any]


async def record_events(session: AsyncSession, events: Sequence[NewEvent]) -> None:
    """`record_event` for a batch (the scheduler's), inserted in bulk: same rows, same
    outbox guarantee, one endpoint lookup for the whole batch."""
    if not events:
        return
    stored: list[StoredEvent] = []
    rows: list[dict[str, Any]] = []
    for new in events:
        # Stamped one by one, so the events keep the batch's order by `created_at`.
        event = StoredEvent(new_id("evt"), new.account_id, new.type.value, utcnow())
        stored.append(event)
        rows.append(
            {
                "id": event.id,
                "account_id": event.account_id,
                "type": event.type,
                "data": new.data,
                "created_at": event.created_at,
            }
        )
    await session.execute(insert(cast(Table, Event.__table__)), rows)
    await fan_out(session, stored)
    await notify_workers(session)


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
