"""Request dependencies: the transaction-owning session, the caller's account, paging."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.schemas.common import Cursor, Limit
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

_bearer = HTTPBearer(auto_error=False, description="An account API key.")


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


def get_page(
    limit: Annotated[Limit, Query()] = 50, cursor: Annotated[Cursor | None, Query()] = None
) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor)


PageDep = Annotated[PageRequest, Depends(get_page)]
