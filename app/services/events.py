"""The event outbox: one row per change, written in the caller's transaction, and the
retention that prunes old events with their deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import Table, and_, bindparam, delete, exists, insert, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import ColumnElement

from app.db.base import new_id
from app.db.models import Event, WebhookDelivery, WebhookEndpoint
from app.db.session import WROTE_EVENTS
from app.db.sql import write_together
from app.enums import EventType
from app.errors import NotFoundError
from app.schemas.events import EVENT_DATA, EventRead, envelope
from app.services.endpoints import (
    WAKEUP_CHANNEL,
    StoredEvent,
    fan_out,
    fan_out_write,
    notify_workers,
)
from app.services.pagination import PageRequest, paginate


@dataclass(frozen=True)
class NewEvent:
    account_id: str
    type: EventType
    data: BaseModel
    """An instance of `EVENT_DATA[type]`: the one shape of that type's payload."""


def _payload(new: NewEvent) -> dict[str, Any]:
    expected = EVENT_DATA[new.type]
    if not isinstance(new.data, expected):
        raise TypeError(f"{new.type} carries {expected.__name__}, not {type(new.data).__name__}")
    return new.data.model_dump(mode="json")


async def record_event(
    session: AsyncSession, account_id: str, event_type: EventType, data: BaseModel, now: datetime
) -> Event:
    """Store the event beside the change that causes it, with a pending delivery per
    subscribed webhook endpoint; the caller's commit publishes them all (the outbox)."""
    event = Event(
        account_id=account_id,
        type=event_type.value,
        data=_payload(NewEvent(account_id, event_type, data)),
        created_at=now,
    )
    session.add(event)
    await session.flush()
    await fan_out(session, [StoredEvent(event.id, account_id, event.type, event.created_at)])
    await notify_workers(session)
    return event


async def record_events(session: AsyncSession, events: Sequence[NewEvent], now: datetime) -> None:
    """`record_event` for a batch (the scheduler's), inserted in bulk: same rows, same
    outbox guarantee, one endpoint lookup for the whole batch."""
    if not events:
        return
    stored: list[StoredEvent] = []
    rows: list[dict[str, Any]] = []
    for index, new in enumerate(events):
        # A microsecond apart, so the batch keeps its order by `created_at`.
        created_at = now + timedelta(microseconds=index)
        event = StoredEvent(new_id("evt"), new.account_id, new.type.value, created_at)
        stored.append(event)
        rows.append(
            {
                "id": event.id,
                "account_id": event.account_id,
                "type": event.type,
                "data": _payload(new),
                "created_at": event.created_at,
            }
        )
    await session.execute(insert(cast(Table, Event.__table__)), rows)
    await fan_out(session, stored)
    await notify_workers(session)


_EVENT_COLUMNS = ("id", "account_id", "type", "data", "created_at")


@cache
def event_writes(count: int) -> tuple[UpdateBase, ...]:
    """The INSERT of `count` events (a statement each: a multi-row VALUES holding JSON
    gets a new cache key every time) and of their deliveries, with the bind parameters
    `event_params` fills. Built once per count, so a request builds no statement."""
    table = cast(Table, Event.__table__)
    inserts = [
        insert(table).values(
            {
                name: bindparam(f"event{index}_{name}", type_=table.c[name].type)
                for name in _EVENT_COLUMNS
            }
        )
        for index in range(count)
    ]
    return (*inserts, fan_out_write(count))


def event_params(
    account_id: str, events: Sequence[tuple[EventType, BaseModel]], now: datetime
) -> dict[str, Any]:
    """The values of `event_writes(len(events))`: every event stamped `now`, like
    `record_event`'s."""
    params: dict[str, Any] = {}
    for index, (type_, data) in enumerate(events):
        values = {
            "id": new_id("evt"),
            "account_id": account_id,
            "type": type_.value,
            "data": _payload(NewEvent(account_id, type_, data)),
            "created_at": now,
        }
        params.update({f"event{index}_{name}": value for name, value in values.items()})
    return params


async def write_with_events(
    session: AsyncSession,
    changes: tuple[UpdateBase, ...],
    params: dict[str, Any],
    account_id: str,
    events: Sequence[tuple[EventType, BaseModel]],
    now: datetime,
) -> None:
    """A change's own writes (prebuilt, with their `params`), then its events and their
    deliveries, and the workers' wake-up: the outbox of one request in one round trip on
    PostgreSQL (`app.db.sql.write_together`)."""
    writes = (*changes, *event_writes(len(events)))
    values = {**params, **event_params(account_id, events, now)}
    await write_together(session, writes, values, notify=WAKEUP_CHANNEL)
    session.info[WROTE_EVENTS] = True


def event_read(event: Event) -> EventRead:
    return EventRead.model_validate(envelope(event.id, event.type, event.created_at, event.data))


async def get_event(session: AsyncSession, account_id: str, event_id: str) -> Event:
    event = await session.scalar(
        select(Event).where(Event.id == event_id, Event.account_id == account_id)
    )
    if event is None:
        raise NotFoundError("No such event.")
    return event


EXAMPLE_ID_PREFIX = "evtex"
"""Id prefix of a catalog example sent to one endpoint on request: it records a delivery,
not a change, so it is left out of the account's event list and stream."""


def is_example(event_id: str) -> bool:
    return event_id.startswith(f"{EXAMPLE_ID_PREFIX}_")


def listed_events(account_id: str) -> ColumnElement[bool]:
    """The account's events as the list and the stream show them."""
    return and_(
        Event.account_id == account_id,
        ~Event.id.startswith(f"{EXAMPLE_ID_PREFIX}_", autoescape=True),
    )


async def list_events(
    session: AsyncSession, account_id: str, page: PageRequest, event_type: EventType | None
) -> tuple[list[Event], str | None]:
    stmt = select(Event).where(listed_events(account_id))
    if event_type is not None:
        stmt = stmt.where(Event.type == event_type.value)
    return await paginate(session, stmt, page, sort=Event.created_at, tiebreak=Event.id)


async def prune_history(session: AsyncSession, cutoff: datetime, batch: int) -> int:
    """Delete up to `batch` events older than `cutoff`, with their deliveries and attempts.

    An event still being retried for an enabled endpoint is kept until its delivery ends;
    pending deliveries to disabled endpoints are dropped with their old event.
    """
    retrying = exists().where(
        WebhookDelivery.event_id == Event.id,
        WebhookDelivery.status == literal_column("'pending'"),
        WebhookEndpoint.id == WebhookDelivery.endpoint_id,
        WebhookEndpoint.enabled.is_(True),
    )
    ids = (
        await session.scalars(
            select(Event.id)
            .where(Event.created_at < cutoff, ~retrying)
            .order_by(Event.created_at)
            .limit(batch)
            .with_for_update(skip_locked=True, of=Event)
        )
    ).all()
    if not ids:
        return 0
    await session.execute(
        delete(Event).where(Event.id.in_(ids)), execution_options={"synchronize_session": False}
    )
    return len(ids)
