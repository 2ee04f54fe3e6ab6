"""Interviews, their decisions and, through them, their follow-up windows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.api.deps import (
    AccountDep,
    CredentialDep,
    InterviewDep,
    NowDep,
    ResourceId,
    SessionDep,
    SyncPageDep,
)
from app.api.openapi import ApiRoute
from app.api.responses import encoded_page_response
from app.enums import Decision
from app.schemas.common import ExternalId, IdRef, Page
from app.schemas.interviews import InterviewCreate, InterviewRead, InterviewUpdate
from app.services import interviews as service
from app.services import windows as window_service

router = APIRouter(prefix="/v1/interviews", tags=["interviews"], route_class=ApiRoute)


@router.post("", status_code=201, summary="Create an interview")
async def create_interview(
    body: InterviewCreate, session: SessionDep, account: AccountDep, now: NowDep
) -> InterviewRead:
    """Create an interview with its `thank_you`, `check_in` and `brief_referees` windows.
    `ends_at` defaults to `starts_at` + 1 h and `timezone` to the candidate's. Emits
    `interview.created`."""
    return await service.create_interview(session, account, body, now)


@router.get("", response_model=Page[InterviewRead], summary="List interviews")
async def list_interviews(
    session: SessionDep,
    credential: CredentialDep,
    page: SyncPageDep,
    candidate_id: Annotated[
        IdRef | None, Query(description="Only this candidate's interviews.")
    ] = None,
    decision: Annotated[
        Decision | None, Query(description="Only interviews with this decision.")
    ] = None,
    external_id: Annotated[
        ExternalId | None, Query(description="Only interviews with this `external_id`.")
    ] = None,
) -> Response:
    """The account's interviews with their windows, newest first. `created_after`,
    `created_before` and `updated_after` select what changed since a client last synced."""
    listed = await service.list_interviews(
        session,
        credential,
        page,
        candidate_id=candidate_id,
        decision=decision,
        external_id=external_id,
    )
    return encoded_page_response(listed)


@router.get("/{interview_id}", summary="Get an interview")
async def read_interview(session: SessionDep, interview: InterviewDep) -> InterviewRead:
    """One interview with its follow-up windows."""
    return await window_service.interview_read(session, interview)


@router.patch("/{interview_id}", summary="Update an interview or record its decision")
async def update_interview(
    interview_id: ResourceId,
    body: InterviewUpdate,
    session: SessionDep,
    account: AccountDep,
    now: NowDep,
) -> InterviewRead:
    """Change the fields sent. Moving `ends_at` or `decision_expected_at` reschedules the
    windows that have not opened. Setting `decision` records `decided_at` and cancels the
    windows that have not opened. Emits `interview.updated` and/or `interview.decided`."""
    return await service.update_interview(session, account, interview_id, body, now)


@router.delete("/{interview_id}", status_code=204, summary="Delete an interview")
async def delete_interview(
    interview_id: ResourceId, session: SessionDep, account: AccountDep
) -> Response:
    """Delete an interview with its contacts, attempts and windows."""
    await service.delete_interview(session, account.id, interview_id)
    return Response(status_code=204)
