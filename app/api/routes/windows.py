from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import AccountDep, InterviewDep, PageDep, SessionDep
from app.enums import WindowKind, WindowState
from app.schemas.common import InputDatetime, Page
from app.schemas.interviews import WindowRead
from app.schemas.problem import AUTHED
from app.services import windows as service

router = APIRouter(tags=["follow-up windows"], responses=AUTHED)


@router.get("/v1/interviews/{interview_id}/windows", summary="An interview's windows")
async def list_interview_windows(
    session: SessionDep, interview: InterviewDep, page: PageDep
) -> Page[WindowRead]:
    rows, cursor = await service.list_windows(
        session, interview.account_id, page, interview_id=interview.id
    )
    return Page(data=[WindowRead.model_validate(w) for w in rows], next_cursor=cursor)


@router.get("/v1/followup-windows", summary="Windows across the account, by opening time")
async def list_windows(
    session: SessionDep,
    account: AccountDep,
    page: PageDep,
    state: Annotated[WindowState | None, Query()] = None,
    kind: Annotated[WindowKind | None, Query()] = None,
    opens_before: Annotated[InputDatetime | None, Query()] = None,
    opens_after: Annotated[InputDatetime | None, Query()] = None,
) -> Page[WindowRead]:
    rows, cursor = await service.list_windows(
        session,
        account.id,
        page,
        state=state,
        kind=kind,
        opens_before=opens_before,
        opens_after=opens_after,
    )
    return Page(data=[WindowRead.model_validate(w) for w in rows], next_cursor=cursor)
