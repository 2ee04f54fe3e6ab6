"""Request dependencies: the transaction-owning session, the caller's account, paging."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.schemas.common import Cursor, InputDatetime, Limit
from app.db.models import Account, Interview
from app.errors import UnauthorizedError
from app.services import accounts as account_service
from app.services import interviews as interview_service
from app.services.pagination import PageRequest
from app.settings import Settings

ResourceId = Annotated[str, Path(min_length=1, max_length=64, description="An opaque id.")]
"""A resource id in a path: bounded like every other input."""


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit on success, roll back on any error."""
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with factory() as session, session.begin():
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
# "function" scope: commit before the response is sent, not after.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An account's API key: `Authorization: Bearer fu_...`.",
)


async def get_account(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Account:
    if credentials is None:
        raise UnauthorizedError("Send an API key as `Authorization: Bearer <key>`.")
    return await account_service.authenticate(session, credentials.credentials)


AccountDep = Annotated[Account, Depends(get_account)]


async def get_interview(
    session: SessionDep, account: AccountDep, interview_id: ResourceId
) -> Interview:
    return await interview_service.get_interview(session, account.id, interview_id)


InterviewDep = Annotated[Interview, Depends(get_interview)]


LimitQuery = Annotated[Limit, Query(description="Items per page, 1 to 200.")]
CursorQuery = Annotated[
    Cursor | None,
    Query(description="`next_cursor` of the previous page; omit for the first page."),
]
CreatedAfter = Annotated[
    InputDatetime | None,
    Query(
        description="Only items created after this instant (exclusive). RFC 3339 with an "
        "offset; encode `+` as `%2B` in a URL, or use `Z`."
    ),
]
CreatedBefore = Annotated[
    InputDatetime | None,
    Query(
        description="Only items created before this instant (exclusive). RFC 3339 with an offset."
    ),
]
UpdatedAfter = Annotated[
    InputDatetime | None,
    Query(
        description="Only items changed after this instant (exclusive): pass the latest "
        "`updated_at` seen to fetch what changed since. RFC 3339 with an offset."
    ),
]


def get_page(limit: LimitQuery = 50, cursor: CursorQuery = None) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor)


PageDep = Annotated[PageRequest, Depends(get_page)]


def get_sync_page(
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    created_after: CreatedAfter = None,
    created_before: CreatedBefore = None,
    updated_after: UpdatedAfter = None,
) -> PageRequest:
    """A page of a list that clients keep in sync: by creation time and by last change."""
    return PageRequest(
        limit=limit,
        cursor=cursor,
        created_after=created_after,
        created_before=created_before,
        updated_after=updated_after,
    )


SyncPageDep = Annotated[PageRequest, Depends(get_sync_page)]


def get_event_page(
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    created_after: CreatedAfter = None,
    created_before: CreatedBefore = None,
) -> PageRequest:
    """Events never change, so they are only filtered by creation time."""
    return PageRequest(
        limit=limit, cursor=cursor, created_after=created_after, created_before=created_before
    )


EventPageDep = Annotated[PageRequest, Depends(get_event_page)]
