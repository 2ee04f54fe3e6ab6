"""Contact attempts: evaluate against the policy, store what is allowed, emit events."""

from __future__ import annotations

from datetime import datetime, timedelta

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
    Severity,
    Verdict,
)
from app.errors import InputError, NotFoundError, PolicyViolationError
from app.policy import (
    AttemptFacts,
    ContactFacts,
    Evaluation,
    InterviewFacts,
    PolicyContext,
    evaluate,
    in_reply_to_problem,
)
from app.schemas.attempts import (
    AttemptCreate,
    AttemptRead,
    EvaluationRead,
    FindingRead,
    RefusedAttempt,
)
from app.schemas.events import AttemptEventData, AttemptRejectedData
from app.services import windows as window_service
from app.services.events import record_event
from app.services.pagination import PageRequest, paginate
from app.services.policy_settings import policy_settings
from app.targets import target_of
from app.windows.schedule import StoredAttempt

FUTURE_TOLERANCE = timedelta(minutes=5)


def _facts(fields: AttemptCreate, occurred_at: datetime) -> AttemptFacts:
    return AttemptFacts(
        channel=fields.channel,
        direction=fields.direction,
        occurred_at=occurred_at,
        contact_id=fields.contact_id,
        platform=fields.platform,
        purpose=fields.purpose,
        subject=fields.subject,
        body=fields.body,
        in_reply_to=fields.in_reply_to,
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
            ContactAttempt.id,
            ContactAttempt.reply_to,
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
            id=row.id,
            reply_to=row.reply_to,
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


def _check_contact(fields: AttemptCreate, contacts: dict[str, Contact]) -> None:
    if fields.contact_id is not None and fields.contact_id not in contacts:
        raise InputError("contact_id is not a contact of this interview.", ["body", "contact_id"])


def _check_reply(facts: AttemptFacts, context: PolicyContext) -> None:
    problem = in_reply_to_problem(facts, context.attempts)
    if problem is not None:
        raise InputError(problem, ["body", "in_reply_to"])


async def evaluate_attempt(
    session: AsyncSession,
    account: Account,
    interview: Interview,
    fields: AttemptCreate,
    now: datetime,
) -> EvaluationRead:
    """Evaluate a planned or past attempt; stores nothing and emits nothing."""
    contacts = await _contacts(session, interview)
    _check_contact(fields, contacts)
    context = await _context(session, account, interview, contacts)
    facts = _facts(fields, fields.occurred_at or now)
    _check_reply(facts, context)
    return EvaluationRead.model_validate(evaluate(facts, context))


def _violation(evaluation: Evaluation, findings: list[FindingRead]) -> PolicyViolationError:
    blocking = [f.rule for f in evaluation.findings if f.severity is Severity.BLOCK]
    return PolicyViolationError(
        f"The attempt was refused by: {', '.join(blocking)}. Nothing was stored.",
        [finding.model_dump(mode="json") for finding in findings],
    )


async def record_attempt(
    session: AsyncSession,
    account: Account,
    interview: Interview,
    fields: AttemptCreate,
    now: datetime,
) -> AttemptRead:
    """Evaluate and, unless a finding blocks it, store the attempt.

    Either way the outcome's event is written in this transaction. A refusal raises
    `PolicyViolationError`, which keeps the transaction's changes: the refusal is a
    change too (`contact_attempt.rejected`).
    """
    occurred_at = fields.occurred_at or now
    if occurred_at > now + FUTURE_TOLERANCE:
        raise InputError(
            "occurred_at is more than 5 minutes in the future; use evaluate for planned attempts.",
            ["body", "occurred_at"],
        )
    contacts = await _contacts(session, interview)
    _check_contact(fields, contacts)
    context = await _context(session, account, interview, contacts)
    facts = _facts(fields, occurred_at)
    _check_reply(facts, context)
    evaluation = evaluate(facts, context)
    findings = [FindingRead.model_validate(finding) for finding in evaluation.findings]
    if evaluation.verdict is Verdict.REJECTED:
        refused = RefusedAttempt.model_validate(
            {
                **fields.model_dump(),
                "interview_id": interview.id,
                "occurred_at": occurred_at,
                "reply_to": evaluation.reply_to,
            }
        )
        rejected = AttemptRejectedData(
            attempt=refused,
            interview_id=interview.id,
            verdict=evaluation.verdict,
            findings=findings,
        )
        await record_event(session, account.id, EventType.CONTACT_ATTEMPT_REJECTED, rejected, now)
        raise _violation(evaluation, findings)

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
        in_reply_to=facts.in_reply_to,
        reply_to=evaluation.reply_to,
        verdict=evaluation.verdict.value,
        findings=[finding.model_dump(mode="json") for finding in findings],
        created_at=now,
    )
    session.add(attempt)
    await session.flush()

    contact = contacts.get(facts.contact_id) if facts.contact_id else None
    role = ContactRole(contact.role) if contact else None
    await window_service.apply_attempt(
        session,
        interview,
        StoredAttempt(
            channel=facts.channel,
            direction=facts.direction,
            occurred_at=occurred_at,
            target=target_of(facts.channel, role),
        ),
        now,
    )
    read = AttemptRead.model_validate(attempt)
    data = AttemptEventData(
        attempt=read, interview_id=interview.id, verdict=evaluation.verdict, findings=findings
    )
    await record_event(session, account.id, EventType.CONTACT_ATTEMPT_RECORDED, data, now)
    if evaluation.verdict is Verdict.FLAGGED:
        await record_event(session, account.id, EventType.CONTACT_ATTEMPT_FLAGGED, data, now)
    return read


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
