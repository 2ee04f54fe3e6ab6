from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.api.deps import AccountDep, InterviewDep, PageDep, ResourceId, SessionDep
from app.api.schemas.common import ExternalId, Page
from app.api.schemas.interviews import InterviewCreate, InterviewRead, InterviewUpdate
from app.api.schemas.problem import AUTHED
from app.enums import Decision
from app.services import interviews as service
from app.services import windows as window_service
from app.services.views import interview_view

router = APIRouter(prefix="/v1/interviews", tags=["interviews"], responses=AUTHED)


@router.post("", status_code=201)
async def create_interview(
    body: InterviewCreate, session: SessionDep, account: AccountDep
) -> InterviewRead:
    interview = await service.create_interview(session, account, body.model_dump())
    return InterviewRead.model_validate(
        await window_service.interview_with_windows(session, interview)
    )


@router.get("")
async def list_interviews(
    session: SessionDep,
    account: AccountDep,
    page: PageDep,
    candidate_id: Annotated[str | None, Query(max_length=40)] = None,
    decision: Annotated[Decision | None, Query()] = None,
    external_id: Annotated[ExternalId | None, Query()] = None,
) -> Page[InterviewRead]:
    rows, cursor = await service.list_interviews(
        session,
        account.id,
        page,
        candidate_id=candidate_id,
        decision=decision,
        external_id=external_id,
    )
    windows = await window_service.windows_by_interview(session, (row.id for row in rows))
    data = [
        InterviewRead.model_validate(
            interview_view(row, [window_service.window_view(w) for w in windows.get(row.id, [])])
        )
        for row in rows
    ]
    return Page(data=data, next_cursor=cursor)


@router.get("/{interview_id}")
async def read_interview(session: SessionDep, interview: InterviewDep) -> InterviewRead:
    return InterviewRead.model_validate(
        await window_service.interview_with_windows(session, interview)
    )


@router.patch("/{interview_id}")
async def update_interview(
    interview_id: ResourceId, body: InterviewUpdate, session: SessionDep, account: AccountDep
) -> InterviewRead:
    interview = await service.update_interview(
        session, account, interview_id, body.model_dump(exclude_unset=True)
    )
    return InterviewRead.model_validate(
        await window_service.interview_with_windows(session, interview)
    )


@router.delete("/{interview_id}", status_code=204)
async def delete_interview(
    interview_id: ResourceId, session: SessionDep, account: AccountDep
) -> Response:
    await service.delete_interview(session, account.id, interview_id)
    return Response(status_code=204)
