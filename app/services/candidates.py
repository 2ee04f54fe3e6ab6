"""Candidates: the job seekers an account follows up for."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Candidate
from app.errors import ConflictError, DuplicateExternalIdError, NotFoundError
from app.schemas.candidates import CandidateCreate, CandidateUpdate
from app.services.pagination import PageRequest, paginate


async def get_candidate(session: AsyncSession, account_id: str, candidate_id: str) -> Candidate:
    candidate = await session.scalar(
        select(Candidate).where(Candidate.id == candidate_id, Candidate.account_id == account_id)
    )
    if candidate is None:
        raise NotFoundError("No such candidate.")
    return candidate


async def _holder_of(session: AsyncSession, account_id: str, external_id: str) -> str | None:
    holder: str | None = await session.scalar(
        select(Candidate.id).where(
            Candidate.account_id == account_id, Candidate.external_id == external_id
        )
    )
    return holder


def _duplicate(external_id: str, existing_id: str) -> DuplicateExternalIdError:
    return DuplicateExternalIdError(
        f"A candidate with external_id {external_id!r} already exists.", existing_id
    )


async def _ensure_external_id_free(
    session: AsyncSession, account_id: str, external_id: str | None, own_id: str | None = None
) -> None:
    if external_id is None:
        return
    existing = await _holder_of(session, account_id, external_id)
    if existing is not None and existing != own_id:
        raise _duplicate(external_id, existing)


async def _save_unique(
    session: AsyncSession, candidate: Candidate, changes: Mapping[str, Any]
) -> None:
    """Apply `changes` and flush inside a savepoint, so that losing a race on the unique
    external_id leaves the request's transaction usable to name the winner in the 409."""
    # Read before the savepoint: rolling it back expires the candidate's attributes.
    account_id = candidate.account_id
    external_id = changes.get("external_id", candidate.external_id)
    try:
        async with session.begin_nested():
            for name, value in changes.items():
                setattr(candidate, name, value)
            session.add(candidate)
            await session.flush()
    except IntegrityError as exc:
        existing = None
        if external_id is not None:
            existing = await _holder_of(session, account_id, external_id)
        if external_id is None or existing is None:
            raise ConflictError("The candidate conflicts with another one.") from exc
        raise _duplicate(external_id, existing) from exc


async def create_candidate(
    session: AsyncSession, account_id: str, fields: CandidateCreate
) -> Candidate:
    await _ensure_external_id_free(session, account_id, fields.external_id)
    candidate = Candidate(account_id=account_id)
    await _save_unique(session, candidate, fields.model_dump())
    return candidate


async def update_candidate(
    session: AsyncSession, account_id: str, candidate_id: str, patch: CandidateUpdate
) -> Candidate:
    candidate = await get_candidate(session, account_id, candidate_id)
    changes = patch.model_dump(exclude_unset=True)
    if "external_id" in changes:
        await _ensure_external_id_free(session, account_id, changes["external_id"], candidate.id)
    await _save_unique(session, candidate, changes)
    return candidate


async def delete_candidate(session: AsyncSession, account_id: str, candidate_id: str) -> None:
    """Deleting a candidate deletes their interviews too (foreign-key cascade)."""
    candidate = await get_candidate(session, account_id, candidate_id)
    await session.delete(candidate)
    await session.flush()


async def list_candidates(
    session: AsyncSession, account_id: str, page: PageRequest, external_id: str | None = None
) -> tuple[list[Candidate], str | None]:
    stmt = select(Candidate).where(Candidate.account_id == account_id)
    if external_id is not None:
        stmt = stmt.where(Candidate.external_id == external_id)
    return await paginate(session, stmt, page, sort=Candidate.created_at, tiebreak=Candidate.id)
