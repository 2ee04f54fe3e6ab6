"""Contact attempts: evaluate against the policy, store what is allowed, emit events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Account, Candidate, Contact, ContactAttempt, Interview
from app.enums import (
    Channel,
    ContactRole,
    Decision,
    Direction,
    EventType,
    Platform,
    Purpose,
    Verdict,
)
from app.errors import InputError, NotFoundError
from app.policy import (
    AttemptFacts,
    ContactFacts,
    Evaluation,
    Finding,
    InterviewFacts,
    PolicyContext,
    evaluate,
)
from app.services import windows as window_service
from app.services.events import record_event
from app.services.pagination import PageRequest, paginate
from app.services.policy_settings import policy_settings
from app.services.views import attempt_view, format_utc
from app.targets import target_of
from app.windows import schedule

FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Outcome:
    """What recording produced: the stored attempt, or None when the policy refused it."""

    evaluation: Evaluation
    attempt: ContactAttempt | None


def finding_json(finding: Finding) -> dict[str, Any]:
    return {**finding.to_dict(), "details": finding.details}


def evaluation_json(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "verdict": evaluation.verdict.value,
        "findings": [finding_json(f) for f in evaluation.findings],
    }


def _facts(fields: Mapping[str, Any], occurred_at: datetime) -> AttemptFacts:
    return AttemptFacts(
        channel=Channel(fields["channel"]),
        direction=Direction(fields.get("direction") or Direction.OUTBOUND),
        occurred_at=occurred_at,
        contact_id=fields.get("contact_id"),
        platform=Platform(fields["platform"]) if fields.get("platform") else None,
        purpose=Purpose(fields["purpose"]) if fields.get("purpose") else None,
        subject=fields.get("subject"),
        body=fields.get("body"),
    )


async def _contacts(session: AsyncSession, interview: Interview) -> dict[str, Contact]:
    rows = await session.scalars(select(Contact).where(Contact.interview_id == interview.id))
    return {contact.id: contact for contact in rows.all()}


async def _context(
    session: AsyncSession, account: Account, interview: Interview, contacts: dict[str, Contact]
) -> PolicyContext:
    candidate_name = await session.scalar(
        select(Candidate.name).where(Candidate.id == interview.candidate_id)
    )
    # Earlier attempts need no subject or body: only the evaluated one is proofread.
    stored = await session.execute(
        select(
            ContactAttempt.channel,
            ContactAttempt.direction,
            ContactAttempt.occurred_at,
            ContactAttempt.contact_id,
            ContactAttempt.platform,
        ).where(ContactAttempt.interview_id == interview.id)
    )
    attempts = [
        AttemptFacts(
            channel=Channel(row.channel),
            direction=Direction(row.direction),
            occurred_at=row.occurred_at,
            contact_id=row.contact_id,
            platform=Platform(row.platform) if row.platform else None,
        )
        for row in stored.all()
    ]
    return PolicyContext(
        interview=InterviewFacts(
            ends_at=interview.ends_at,
            timezone=interview.timezone,
            decision=Decision(interview.decision),
            decided_at=interview.decided_at,
            decision_expected_at=interview.decision_expected_at,
            company=interview.company,
            role_title=interview.role_title,
            candidate_name=candidate_name or "",
        ),
        contacts={
            c.id: ContactFacts(id=c.id, name=c.name, role=ContactRole(c.role), timezone=c.timezone)
            for c in contacts.values()
        },
        attempts=attempts,
        settings=policy_settings(account),
    )


def _check_contact(fields: Mapping[str, Any], contacts: Mapping[str, Contact]) -> None:
    contact_id = fields.get("contact_id")
    if contact_id is not None and contact_id not in contacts:
        raise InputError("contact_id is not a contact of this interview.", ["body", "contact_id"])


async def evaluate_attempt(
    session: AsyncSession,
    account: Account,
    interview: Interview,
    fields: Mapping[str, Any],
    now: datetime,
) -> Evaluation:
    """Evaluate a planned or past attempt; stores nothing and emits nothing."""
    contacts = await _contacts(session, interview)
    _check_contact(fields, contacts)
    occurred_at = fields.get("occurred_at") or now
    context = await _context(session, account, interview, contacts)
    return evaluate(_facts(fields, occurred_at), context)


def _request_view(
    interview: Interview, fields: Mapping[str, Any], occurred_at: datetime
) -> dict[str, Any]:
    """The refused request, as the rejection event carries it."""
    return {
        "interview_id": interview.id,
        "contact_id": fields.get("contact_id"),
        "channel": str(fields["channel"]),
        "direction": str(fields.get("direction") or Direction.OUTBOUND),
        "platform": fields.get("platform") and str(fields["platform"]),
        "purpose": fields.get("purpose") and str(fields["purpose"]),
        "occurred_at": format_utc(occurred_at),
        "subject": fields.get("subject"),
        "body": fields.get("body"),
    }


async def record_attempt(
    session: AsyncSession,
    account: Account,
    interview: Interview,
    fields: Mapping[str, Any],
    now: datetime,
) -> Outcome:
    """Evaluate and, unless a finding blocks it, store the attempt.

    Either way the outcome's event is written in this transaction: a refusal is a change
    too (`contact_attempt.rejected`), so the caller commits it before answering 422.
    """
    occurred_at: datetime = fields.get("occurred_at") or now
    if occurred_at > now + FUTURE_TOLERANCE:
        raise InputError(
            "occurred_at is more than 5 minutes in the future; use evaluate for planned attempts.",
            ["body", "occurred_at"],
        )
    contacts = await _contacts(session, interview)
    _check_contact(fields, contacts)
    context = await _context(session, account, interview, contacts)
    facts = _facts(fields, occurred_at)
    evaluation = evaluate(facts, context)
    verdict_data = evaluation_json(evaluation)
    if evaluation.verdict is Verdict.REJECTED:
        await record_event(
            session,
            account.id,
            EventType.CONTACT_ATTEMPT_REJECTED,
            {
                "attempt": _request_view(interview, fields, occurred_at),
                "interview_id": interview.id,
                **verdict_data,
            },
        )
        return Outcome(evaluation=evaluation, attempt=None)

    attempt = ContactAttempt(
        account_id=account.id,
        interview_id=interview.id,
        contact_id=facts.contact_id,
        channel=facts.channel.value,
        direction=facts.direction.value,
        platform=facts.platform.value if facts.platform else None,
        purpose=facts.purpose.value if facts.purpose else None,
        occurred_at=occurred_at,
        subject=facts.subject,
        body=facts.body,
        verdict=evaluation.verdict.value,
        findings=verdict_data["findings"],
        created_at=now,
    )
    session.add(attempt)
    await session.flush()

    contact = contacts.get(facts.contact_id) if facts.contact_id else None
    role = ContactRole(contact.role) if contact else None
    await window_service.apply_attempt(
        session,
        interview,
        schedule.AttemptFacts(
            channel=facts.channel,
            direction=facts.direction,
            occurred_at=occurred_at,
            target=target_of(facts.channel, role),
        ),
    )
    payload = {"attempt": attempt_view(attempt), "interview_id": interview.id, **verdict_data}
    await record_event(session, account.id, EventType.CONTACT_ATTEMPT_RECORDED, payload)
    if evaluation.verdict is Verdict.FLAGGED:
        await record_event(session, account.id, EventType.CONTACT_ATTEMPT_FLAGGED, payload)
    return Outcome(evaluation=evaluation, attempt=attempt)


async def get_attempt(
    session: AsyncSession, interview: Interview, attempt_id: str
) -> ContactAttempt:
    attempt = await session.scalar(
        select(ContactAttempt).where(
            ContactAttempt.id == attempt_id, ContactAttempt.interview_id == interview.id
        )
    )
    if attempt is None:
        raise NotFoundError("No such contact attempt for this interview.")
    return attempt


async def delete_attempt(session: AsyncSession, interview: Interview, attempt_id: str) -> None:
    """Removes the record only; windows it completed stay completed."""
    await session.delete(await get_attempt(session, interview, attempt_id))
    await session.flush()


async def list_attempts(
    session: AsyncSession, interview: Interview, page: PageRequest
) -> tuple[list[ContactAttempt], str | None]:
    """Most recent `occurred_at` first."""
    stmt = select(ContactAttempt).where(ContactAttempt.interview_id == interview.id)
    return await paginate(
        session, stmt, page, sort=ContactAttempt.occurred_at, tiebreak=ContactAttempt.id
    )
