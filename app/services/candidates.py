"""Candidates: the job seekers an account follows up for."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Candidate
from app.errors import ConflictError, NotFoundError
from app.schemas.candidates import CandidateCreate, CandidateUpdate
from app.services.pagination import PageRequest, paginate


async def get_candidate(session: AsyncSession, account_id: str, candidate_id: str) -> Candidate:
    candidate = await session.scalar(
        select(Candidate).where(Candidate.id == candidate_id, Candidate.account_id == account_id)
    )
    if candidate is None:
        raise NotFoundError("No such candidate.")
    return candidate


async def _ensure_external_id_free(
    session: AsyncSession, account_id: str, external_id: str | None, own_id: str | None = None
) -> None:
    if external_id is None:
        return
    stmt = select(Candidate.id).where(
        Candidate.account_id == account_id, Candidate.external_id == external_id
    )
    existing = await session.scalar(stmt)
    if existing is not None and existing != own_id:
        raise ConflictError(f"A candidate with external_id {external_id!r} already exists.")


async def _flush_unique(session: AsyncSession, external_id: str | None) -> None:
    """Flush, turning a lost race on the unique external_id into a 409."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise ConflictError(
            f"A candidate with external_id {external_id!r} already exists."
        ) from exc


async def create_candidate(
    session: AsyncSession, account_id: str, fields: CandidateCreate
) -> Candidate:
    await _ensure_external_id_free(session, account_id, fields.external_id)
    candidate = Candidate(account_id=account_id, **fields.model_dump())
    session.add(candidate)
    await _flush_unique(session, candidate.external_id)
    return candidate


async def update_candidate(
    session: AsyncSession, account_id: str, candidate_id: str, patch: CandidateUpdate
) -> Candidate:
    candidate = await get_candidate(session, account_id, candidate_id)
    changes = patch.model_dump(exclude_unset=True)
    if "external_id" in changes:
        await _ensure_external_id_free(session, account_id, changes["external_id"], candidate.id)
    for name, value in changes.items():
        setattr(candidate, name, value)
    await _flush_unique(session, candidate.external_id)
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
