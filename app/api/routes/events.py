from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import AccountDep, PageDep, ResourceId, SessionDep
from app.enums import EventType
from app.schemas.common import Page
from app.schemas.events import EventRead
from app.schemas.problem import AUTHED
from app.services import events as service

router = APIRouter(prefix="/v1/events", tags=["events"], responses=AUTHED)


@router.get("")
async def list_events(
    session: SessionDep,
    account: AccountDep,
    page: PageDep,
    type: Annotated[EventType | None, Query()] = None,
) -> Page[EventRead]:
    rows, cursor = await service.list_events(session, account.id, page, type)
    return Page(data=[service.event_read(r) for r in rows], next_cursor=cursor)


@router.get("/{event_id}")
async def read_event(event_id: ResourceId, session: SessionDep, account: AccountDep) -> EventRead:
    return service.event_read(await service.get_event(session, account.id, event_id))
