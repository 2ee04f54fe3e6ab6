from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.api.deps import AccountDep, PageDep, ResourceId, SessionDep
from app.schemas.candidates import CandidateCreate, CandidateRead, CandidateUpdate
from app.schemas.common import ExternalId, Page
from app.schemas.problem import AUTHED, problem_responses
from app.services import candidates as service

router = APIRouter(prefix="/v1/candidates", tags=["candidates"], responses=AUTHED)


@router.post("", status_code=201, responses=problem_responses(409))
async def create_candidate(
    body: CandidateCreate, session: SessionDep, account: AccountDep
) -> CandidateRead:
    candidate = await service.create_candidate(session, account.id, body)
    return CandidateRead.model_validate(candidate)


@router.get("")
async def list_candidates(
    session: SessionDep,
    account: AccountDep,
    page: PageDep,
    external_id: Annotated[ExternalId | None, Query()] = None,
) -> Page[CandidateRead]:
    rows, cursor = await service.list_candidates(session, account.id, page, external_id)
    return Page(data=[CandidateRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.get("/{candidate_id}")
async def read_candidate(
    candidate_id: ResourceId, session: SessionDep, account: AccountDep
) -> CandidateRead:
    return CandidateRead.model_validate(
        await service.get_candidate(session, account.id, candidate_id)
    )


@router.patch("/{candidate_id}", responses=problem_responses(409))
async def update_candidate(
    candidate_id: ResourceId, body: CandidateUpdate, session: SessionDep, account: AccountDep
) -> CandidateRead:
    candidate = await service.update_candidate(session, account.id, candidate_id, body)
    return CandidateRead.model_validate(candidate)


@router.delete("/{candidate_id}", status_code=204)
async def delete_candidate(
    candidate_id: ResourceId, session: SessionDep, account: AccountDep
) -> Response:
    await service.delete_candidate(session, account.id, candidate_id)
    return Response(status_code=204)
