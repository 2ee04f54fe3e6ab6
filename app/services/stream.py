"""The event stream's reads: where a reader stands, and the events after it.

A position is an event's (created_at, id), the order `GET /v1/events` uses. Events
reach a reader only once they are `settle` old: an event carries the time its request
started, so a slow transaction can commit after a quicker, later one; waiting that long
before passing a position means nothing committed behind it later, so resuming after
the last event seen has no gap and no repeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Event
from app.enums import EventType
from app.errors import InputError
from app.services.events import listed_events

BATCH = 100
"""Events read per query; a reader behind by more catches up batch after batch."""


@dataclass(frozen=True)
class Position:
    created_at: datetime
    id: str


async def position_after(
    session: AsyncSession, account_id: str, last_event_id: str, loc: Sequence[str]
) -> Position:
    """The position of an event of the account the reader saw last (else 422)."""
    row = (
        await session.execute(
            select(Event.created_at, Event.id).where(
                Event.account_id == account_id, Event.id == last_event_id
            )
        )
    ).first()
    if row is None:
        raise InputError(
            "No such event to resume after: it is unknown, or older than the retention.", loc
        )
    return Position(row[0], row[1])


async def events_after(
    session: AsyncSession,
    account_id: str,
    after: Position,
    types: Sequence[EventType],
    until: datetime,
    limit: int = BATCH,
) -> list[Event]:
    """Events after `after`, created no later than `until`, in stream order."""
    stmt = (
        select(Event)
        .where(
            listed_events(account_id),
            or_(
                Event.created_at > after.created_at,
                and_(Event.created_at == after.created_at, Event.id > after.id),
            ),
            Event.created_at <= until,
        )
        .order_by(Event.created_at, Event.id)
        .limit(limit)
    )
    if types:
        stmt = stmt.where(Event.type.in_([t.value for t in types]))
    return list((await session.scalars(stmt)).all())
