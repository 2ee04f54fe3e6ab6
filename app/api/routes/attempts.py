"""Contact attempts: record (policy-checked), evaluate (dry run), list, get, delete."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import AccountDep, InterviewDep, PageDep, ResourceId, SessionDep
from app.api.problems import app_error_response
from app.api.schemas.attempts import AttemptCreate, AttemptRead, EvaluationRead
from app.api.schemas.common import Page
from app.api.schemas.problem import AUTHED
from app.db.base import utcnow
from app.enums import Severity
from app.errors import PolicyViolationError
from app.services import attempts as service
from app.services.views import attempt_view

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
    body: AttemptCreate, session: SessionDep, account: AccountDep, interview: InterviewDep
) -> AttemptRead | Response:
    outcome = await service.record_attempt(session, account, interview, body.model_dump(), utcnow())
    if outcome.attempt is None:
        # Returned, not raised: the rejection event must commit with this request.
        blocking = [f.rule for f in outcome.evaluation.findings if f.severity is Severity.BLOCK]
        error = PolicyViolationError(
            f"The attempt was refused by: {', '.join(blocking)}. Nothing was stored.",
            [service.finding_json(f) for f in outcome.evaluation.findings],
        )
        return app_error_response(error)
    return AttemptRead.model_validate(attempt_view(outcome.attempt))


@router.post("/evaluate", summary="Evaluate an attempt without storing it")
async def evaluate_attempt(
    body: AttemptCreate, session: SessionDep, account: AccountDep, interview: InterviewDep
) -> EvaluationRead:
    evaluation = await service.evaluate_attempt(
        session, account, interview, body.model_dump(), utcnow()
    )
    return EvaluationRead.model_validate(service.evaluation_json(evaluation))


@router.get("")
async def list_attempts(
    session: SessionDep, interview: InterviewDep, page: PageDep
) -> Page[AttemptRead]:
    rows, cursor = await service.list_attempts(session, interview, page)
    return Page(
        data=[AttemptRead.model_validate(attempt_view(r)) for r in rows], next_cursor=cursor
    )


@router.get("/{attempt_id}")
async def read_attempt(
    attempt_id: ResourceId, session: SessionDep, interview: InterviewDep
) -> AttemptRead:
    return AttemptRead.model_validate(
        attempt_view(await service.get_attempt(session, interview, attempt_id))
    )


@router.delete("/{attempt_id}", status_code=204)
async def delete_attempt(
    attempt_id: ResourceId, session: SessionDep, interview: InterviewDep
) -> Response:
    await service.delete_attempt(session, interview, attempt_id)
    return Response(status_code=204)
