"""Contact attempts: record (policy-checked), evaluate (dry run), list, get, delete."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import (
    AccountDep,
    InterviewDep,
    NowDep,
    ResourceId,
    SessionDep,
    SyncPageDep,
    reads_only,
    with_companion,
    writes_once,
)
from app.api.openapi import ApiRoute
from app.api.responses import model_response
from app.schemas.attempts import AttemptCreate, AttemptRead, EvaluationRead
from app.schemas.common import Page
from app.schemas.problem import AttemptRefusal
from app.services import attempts as service

router = APIRouter(
    prefix="/v1/interviews/{interview_id}/contact-attempts",
    tags=["contact attempts"],
    route_class=ApiRoute,
)


@router.post(
    "",
    status_code=201,
    response_model=AttemptRead,
    name="record_contact_attempt",
    summary="Record a contact attempt",
    responses={
        422: {
            "model": AttemptRefusal,
            "description": "`policy-violation`: a `block` finding refused the attempt and "
            "nothing was stored (`findings` says why, quoting the guidance); or "
            "`validation-error`; or `idempotency-key-reuse`.",
        }
    },
)
@writes_once
@with_companion(service.HISTORY_WITH_WINDOWS_PARTS)
async def record_attempt(
    body: AttemptCreate,
    session: SessionDep,
    account: AccountDep,
    interview: InterviewDep,
    now: NowDep,
) -> Response:
    """Judge the attempt by the account's policy, as the interview and its earlier attempts
    stood at `occurred_at`, and store it unless a finding is `block`.

    201 returns the stored attempt with its `verdict` (`allowed`, or `flagged` when a
    finding is `warn`) and `findings`, and emits `contact_attempt.recorded` (and
    `contact_attempt.flagged`). A refusal is 422 `policy-violation` and emits
    `contact_attempt.rejected`. `occurred_at` defaults to now and may be at most 5 minutes
    ahead."""
    stored = await service.record_attempt(session, account, interview, body, now)
    return model_response(stored, 201)


@router.post(
    "/evaluate",
    response_model=EvaluationRead,
    name="evaluate_contact_attempt",
    summary="Evaluate a planned contact attempt",
)
@reads_only
@with_companion(service.HISTORY_PARTS)
async def evaluate_attempt(
    body: AttemptCreate,
    session: SessionDep,
    account: AccountDep,
    interview: InterviewDep,
    now: NowDep,
) -> Response:
    """Ask what recording this attempt would answer, without storing or emitting
    anything: `verdict` is `allowed`, `flagged` or `rejected`. Any `occurred_at` is
    accepted (a planned attempt)."""
    return model_response(await service.evaluate_attempt(session, account, interview, body, now))


@router.get("", name="list_contact_attempts", summary="List an interview's contact attempts")
async def list_attempts(
    session: SessionDep, interview: InterviewDep, page: SyncPageDep
) -> Page[AttemptRead]:
    """Stored attempts, latest `occurred_at` first. Attempts never change once stored, so
    `updated_after` selects them by when they were recorded, like `created_after`."""
    rows, cursor = await service.list_attempts(session, interview, page)
    return Page(data=[AttemptRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/{attempt_id}", name="read_contact_attempt", summary="Get a contact attempt")
async def read_attempt(
    attempt_id: ResourceId, session: SessionDep, interview: InterviewDep
) -> AttemptRead:
    """One stored attempt, with the verdict and findings it was recorded with."""
    return AttemptRead.model_validate(await service.get_attempt(session, interview, attempt_id))


@router.delete(
    "/{attempt_id}",
    status_code=204,
    name="delete_contact_attempt",
    summary="Delete a contact attempt",
)
async def delete_attempt(
    attempt_id: ResourceId, session: SessionDep, interview: InterviewDep
) -> Response:
    """Delete a stored attempt. Windows it completed stay completed."""
    await service.delete_attempt(session, interview, attempt_id)
    return Response(status_code=204)
