"""The event log: every change, as webhook subscribers receive it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import AccountDep, EventPageDep, ResourceId, SessionDep
from app.api.openapi import ApiRoute
from app.enums import EventType
from app.schemas.common import Page
from app.schemas.events import EventRead
from app.services import events as service

router = APIRouter(prefix="/v1/events", tags=["events"], route_class=ApiRoute)


@router.get("", summary="List events")
async def list_events(
    session: SessionDep,
    account: AccountDep,
    page: EventPageDep,
    type: Annotated[EventType | None, Query(description="Only events of this type.")] = None,
) -> Page[EventRead]:
    """The account's events, newest first; `created_after` and `created_before` select a
    time range (events never change)."""
    rows, cursor = await service.list_events(session, account.id, page, type)
    return Page(data=[service.event_read(r) for r in rows], next_cursor=cursor)


@router.get("/{event_id}", summary="Get an event")
async def read_event(event_id: ResourceId, session: SessionDep, account: AccountDep) -> EventRead:
    """One event, in the envelope webhooks deliver."""
    return service.event_read(await service.get_event(session, account.id, event_id))
