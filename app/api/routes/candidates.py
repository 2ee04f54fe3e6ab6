"""Candidates: the job seekers an account follows up for."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.api.deps import AccountDep, ResourceId, SessionDep, SyncPageDep
from app.api.openapi import ApiRoute, conflict_responses
from app.schemas.candidates import CandidateCreate, CandidateRead, CandidateUpdate
from app.schemas.common import ExternalId, Page
from app.services import candidates as service

router = APIRouter(prefix="/v1/candidates", tags=["candidates"], route_class=ApiRoute)

_DUPLICATE = conflict_responses(
    "`conflict`: another candidate of this account has this `external_id` (`existing_id` "
    "names it), or a request with the same `Idempotency-Key` is still in flight."
)


@router.post("", status_code=201, summary="Create a candidate", responses=_DUPLICATE)
async def create_candidate(
    body: CandidateCreate, session: SessionDep, account: AccountDep
) -> CandidateRead:
    """Create a candidate. `timezone` (an IANA name) defaults to `UTC` and becomes the
    default time zone of the candidate's interviews."""
    candidate = await service.create_candidate(session, account.id, body)
    return CandidateRead.model_validate(candidate)


@router.get("", summary="List candidates")
async def list_candidates(
    session: SessionDep,
    account: AccountDep,
    page: SyncPageDep,
    external_id: Annotated[
        ExternalId | None, Query(description="Only the candidate with this `external_id`.")
    ] = None,
) -> Page[CandidateRead]:
    """The account's candidates, newest first. `created_after`, `created_before` and
    `updated_after` select what changed since a client last synced."""
    rows, cursor = await service.list_candidates(session, account.id, page, external_id)
    return Page(data=[CandidateRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.get("/{candidate_id}", summary="Get a candidate")
async def read_candidate(
    candidate_id: ResourceId, session: SessionDep, account: AccountDep
) -> CandidateRead:
    """One candidate of this account."""
    return CandidateRead.model_validate(
        await service.get_candidate(session, account.id, candidate_id)
    )


@router.patch(
    "/{candidate_id}",
    summary="Update a candidate",
    responses=conflict_responses(
        "`conflict`: another candidate of this account has this `external_id` "
        "(`existing_id` names it)."
    ),
)
async def update_candidate(
    candidate_id: ResourceId, body: CandidateUpdate, session: SessionDep, account: AccountDep
) -> CandidateRead:
    """Change the fields sent; the others keep their values. `name` and `timezone` cannot
    be null."""
    candidate = await service.update_candidate(session, account.id, candidate_id, body)
    return CandidateRead.model_validate(candidate)


@router.delete("/{candidate_id}", status_code=204, summary="Delete a candidate")
async def delete_candidate(
    candidate_id: ResourceId, session: SessionDep, account: AccountDep
) -> Response:
    """Delete a candidate with their interviews, contacts, attempts and windows."""
    await service.delete_candidate(session, account.id, candidate_id)
    return Response(status_code=204)
