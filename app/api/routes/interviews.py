from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.api.deps import AccountDep, InterviewDep, NowDep, PageDep, ResourceId, SessionDep
from app.enums import Decision
from app.schemas.common import ExternalId, IdRef, Page
from app.schemas.interviews import InterviewCreate, InterviewRead, InterviewUpdate
from app.schemas.problem import AUTHED
from app.services import interviews as service
from app.services import windows as window_service

router = APIRouter(prefix="/v1/interviews", tags=["interviews"], responses=AUTHED)


@router.post("", status_code=201)
async def create_interview(
    body: InterviewCreate, session: SessionDep, account: AccountDep, now: NowDep
) -> InterviewRead:
    return await service.create_interview(session, account, body, now)


@router.get("")
async def list_interviews(
    session: SessionDep,
    account: AccountDep,
    page: PageDep,
    candidate_id: Annotated[IdRef | None, Query()] = None,
    decision: Annotated[Decision | None, Query()] = None,
    external_id: Annotated[ExternalId | None, Query()] = None,
) -> Page[InterviewRead]:
    data, cursor = await service.list_interviews(
        session,
        account.id,
        page,
        candidate_id=candidate_id,
        decision=decision,
        external_id=external_id,
    )
    return Page(data=data, next_cursor=cursor)


@router.get("/{interview_id}")
async def read_interview(session: SessionDep, interview: InterviewDep) -> InterviewRead:
    return await window_service.interview_read(session, interview)


@router.patch("/{interview_id}")
async def update_interview(
    interview_id: ResourceId,
    body: InterviewUpdate,
    session: SessionDep,
    account: AccountDep,
    now: NowDep,
) -> InterviewRead:
    return await service.update_interview(session, account, interview_id, body, now)


@router.delete("/{interview_id}", status_code=204)
async def delete_interview(
    interview_id: ResourceId, session: SessionDep, account: AccountDep
) -> Response:
    await service.delete_interview(session, account.id, interview_id)
    return Response(status_code=204)
