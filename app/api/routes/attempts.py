"""Contact attempts: record (policy-checked), evaluate (dry run), list, get, delete."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import AccountDep, InterviewDep, NowDep, PageDep, ResourceId, SessionDep
from app.schemas.attempts import AttemptCreate, AttemptRead, EvaluationRead
from app.schemas.common import Page
from app.schemas.problem import AUTHED
from app.services import attempts as service

router = APIRouter(
    prefix="/v1/interviews/{interview_id}/contact-attempts",
    tags=["contact attempts"],
    responses=AUTHED,
)


@router.post(
    "",
    status_code=201,
    response_model=AttemptRead,
    responses={422: {"description": "validation-error, or policy-violation with `findings`"}},
)
async def record_attempt(
    body: AttemptCreate,
    session: SessionDep,
    account: AccountDep,
    interview: InterviewDep,
    now: NowDep,
) -> AttemptRead:
    return await service.record_attempt(session, account, interview, body, now)


@router.post("/evaluate", summary="Evaluate an attempt without storing it")
async def evaluate_attempt(
    body: AttemptCreate,
    session: SessionDep,
    account: AccountDep,
    interview: InterviewDep,
    now: NowDep,
) -> EvaluationRead:
    return await service.evaluate_attempt(session, account, interview, body, now)


@router.get("")
async def list_attempts(
    session: SessionDep, interview: InterviewDep, page: PageDep
) -> Page[AttemptRead]:
    rows, cursor = await service.list_attempts(session, interview, page)
    return Page(data=[AttemptRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/{attempt_id}")
async def read_attempt(
    attempt_id: ResourceId, session: SessionDep, interview: InterviewDep
) -> AttemptRead:
    return AttemptRead.model_validate(await service.get_attempt(session, interview, attempt_id))


@router.delete("/{attempt_id}", status_code=204)
async def delete_attempt(
    attempt_id: ResourceId, session: SessionDep, interview: InterviewDep
) -> Response:
    await service.delete_attempt(session, interview, attempt_id)
    return Response(status_code=204)
