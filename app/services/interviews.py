"""Interviews: creation with defaults, updates that track decisions, tenant-scoped reads."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import utcnow
from app.db.models import Candidate, Interview
from app.enums import Decision
from app.errors import InputError, NotFoundError
from app.services.pagination import PageRequest, paginate

DEFAULT_DURATION = timedelta(hours=1)


async def get_interview(session: AsyncSession, account_id: str, interview_id: str) -> Interview:
    interview = await session.scalar(
        select(Interview).where(Interview.id == interview_id, Interview.account_id == account_id)
    )
    if interview is None:
        raise NotFoundError("No such interview.")
    return interview


def _check_times(interview: Interview) -> None:
    if interview.ends_at < interview.starts_at:
        raise InputError("ends_at must not be before starts_at.", ["body", "ends_at"])


async def create_interview(
    session: AsyncSession, account_id: str, fields: Mapping[str, Any]
) -> Interview:
    values = dict(fields)
    candidate = await session.scalar(
        select(Candidate).where(
            Candidate.id == values["candidate_id"], Candidate.account_id == account_id
        )
    )
    if candidate is None:
        raise InputError("No such candidate in this account.", ["body", "candidate_id"])
    if values.get("ends_at") is None:
        values["ends_at"] = values["starts_at"] + DEFAULT_DURATION
    if values.get("timezone") is None:
        values["timezone"] = candidate.timezone
    interview = Interview(account_id=account_id, decision=Decision.PENDING.value, **values)
    _check_times(interview)
    session.add(interview)
    await session.flush()
    return interview


async def update_interview(
    session: AsyncSession, account_id: str, interview_id: str, changes: Mapping[str, Any]
) -> Interview:
    """Apply a PATCH. Changing `decision` stamps `decided_at` (cleared on a return to pending)."""
    interview = await get_interview(session, account_id, interview_id)
    for name, value in changes.items():
        if name == "decision":
            continue
        setattr(interview, name, value)
    _check_times(interview)
    decision = changes.get("decision")
    if decision is not None and decision != interview.decision:
        interview.decision = decision
        interview.decided_at = None if decision == Decision.PENDING else utcnow()
    await session.flush()
    return interview


async def delete_interview(session: AsyncSession, account_id: str, interview_id: str) -> None:
    interview = await get_interview(session, account_id, interview_id)
    await session.delete(interview)
    await session.flush()


async def list_interviews(
    session: AsyncSession,
    account_id: str,
    page: PageRequest,
    *,
    candidate_id: str | None = None,
    decision: Decision | None = None,
    external_id: str | None = None,
) -> tuple[list[Interview], str | None]:
    stmt = select(Interview).where(Interview.account_id == account_id)
    if candidate_id is not None:
        stmt = stmt.where(Interview.candidate_id == candidate_id)
    if decision is not None:
        stmt = stmt.where(Interview.decision == decision.value)
    if external_id is not None:
        stmt = stmt.where(Interview.external_id == external_id)
    return await paginate(session, stmt, page, sort=Interview.created_at, tiebreak=Interview.id)
