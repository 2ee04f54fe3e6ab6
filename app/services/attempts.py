"""Contact attempts: evaluate against the policy, store what is allowed, emit events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, TypeVar, cast

from pydantic import BaseModel
from sqlalchemy import (
    Select,
    String,
    Table,
    bindparam,
    insert,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.types import TypeEngine

from app.db.base import UTCDateTime, new_id
from app.db.models import (
    Account,
    Candidate,
    Contact,
    ContactAttempt,
    FollowupWindow,
    Interview,
)
from app.db.session import PRELOADED
from app.enums import (
    Channel,
    ContactRole,
    Decision,
    Direction,
    EventType,
    Platform,
    Severity,
    Verdict,
    WindowKind,
    WindowState,
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
from app.services.events import write_with_events
from app.services.pagination import PageRequest, paginate
from app.services.policy_settings import policy_settings
from app.targets import target_of
from app.windows.schedule import StoredAttempt, WindowView

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


HISTORY_COLUMNS: dict[str, TypeEngine[Any]] = {
    "id": String(),
    "name": String(),
    "role": String(),
    "timezone": String(),
    "reply_to": String(),
    "channel": String(),
    "direction": String(),
    "occurred_at": UTCDateTime(),
    "contact_id": String(),
    "platform": String(),
    "kind": String(),
    "state": String(),
    "opens_at": UTCDateTime(),
}
"""The columns of `HISTORY_PARTS`: each part fills its own and leaves the rest null."""


def _part(row: str, table: Table, where: ColumnElement[bool], **columns: str) -> Select[Any]:
    values = [literal(row, String()).label("row")]
    for name, type_ in HISTORY_COLUMNS.items():
        source = columns.get(name)
        value = table.c[source] if source else null().cast(type_)
        values.append(value.label(name))
    return select(*values).where(where)


_contacts_t = cast(Table, Contact.__table__)
_attempts_t = cast(Table, ContactAttempt.__table__)
_windows_t = cast(Table, FollowupWindow.__table__)
_candidates_t = cast(Table, Candidate.__table__)
_INTERVIEW = bindparam("interview_id", type_=String())
_interviews_t = cast(Table, Interview.__table__)
_CANDIDATE = (
    select(_interviews_t.c.candidate_id).where(_interviews_t.c.id == _INTERVIEW).scalar_subquery()
)
HISTORY_PARTS = (
    _part("candidate", _candidates_t, _candidates_t.c.id == _CANDIDATE, name="name"),
    _part(
        "contact",
        _contacts_t,
        _contacts_t.c.interview_id == _INTERVIEW,
        id="id",
        name="name",
        role="role",
        timezone="timezone",
    ),
    _part(
        "attempt",
        _attempts_t,
        _attempts_t.c.interview_id == _INTERVIEW,
        id="id",
        reply_to="reply_to",
        channel="channel",
        direction="direction",
        occurred_at="occurred_at",
        contact_id="contact_id",
        platform="platform",
    ),
)
_INSERT_ATTEMPT = insert(_attempts_t).values(
    {column.key: bindparam(f"attempt_{column.key}", type_=column.type) for column in _attempts_t.c}
)
"""A stored attempt's INSERT, built once: its values come as `attempt_<column>`."""
"""What judging an attempt needs besides the interview: the candidate's name, the
interview's contacts and its stored attempts (no subject or body: only the attempt being
judged is proofread). The routes send these parts with the caller's statement
(`accounts.identify`'s companion); built once, executing them costs no statement building
and no cache-key walk."""
HISTORY_WITH_WINDOWS_PARTS = (
    *HISTORY_PARTS,
    _part(
        "window",
        _windows_t,
        _windows_t.c.interview_id == _INTERVIEW,
        id="id",
        kind="kind",
        state="state",
        opens_at="opens_at",
    ),
)
"""`HISTORY_PARTS` and the interview's windows, which a stored attempt may move."""


@dataclass
class History:
    candidate_name: str = ""
    contacts: dict[str, ContactFacts] = field(default_factory=dict)
    attempts: list[AttemptFacts] = field(default_factory=list)
    windows: list[tuple[str, WindowView]] = field(default_factory=list)


async def _history(session: AsyncSession, interview: Interview, *, windows: bool) -> History:
    """The interview's history: the rows the caller's statement brought along
    (`session.info[PRELOADED]`, put there for this interview), else one statement."""
    preloaded = session.info.pop(PRELOADED, None)
    if preloaded is not None and preloaded[0] == interview.id:
        return history_of(preloaded[1])
    parts = HISTORY_WITH_WINDOWS_PARTS if windows else HISTORY_PARTS
    return history_of(await session.execute(union_all(*parts), {"interview_id": interview.id}))


E = TypeVar("E", bound=Enum)


def _members(enum: type[E]) -> dict[str, E]:
    """An enum's members by value: a dict look-up, where `enum(value)` costs 0.7 us, a
    few dozen times per judged attempt."""
    return {member.value: member for member in enum}


_CHANNELS = _members(Channel)
_DIRECTIONS = _members(Direction)
_PLATFORMS = _members(Platform)
_ROLES = _members(ContactRole)
_KINDS = _members(WindowKind)
_STATES = _members(WindowState)


def history_of(rows: Iterable[Any]) -> History:
    """A `History` from the rows of `HISTORY_PARTS` (and the windows' part)."""
    history = History()
    for row in rows:
        if row.row == "attempt":
            history.attempts.append(
                AttemptFacts(
                    channel=_CHANNELS[row.channel],
                    direction=_DIRECTIONS[row.direction],
                    occurred_at=row.occurred_at,
                    contact_id=row.contact_id,
                    platform=_PLATFORMS[row.platform] if row.platform else None,
                    id=row.id,
                    reply_to=row.reply_to,
                )
            )
        elif row.row == "contact":
            history.contacts[row.id] = ContactFacts(
                id=row.id, name=row.name, role=_ROLES[row.role], timezone=row.timezone
            )
        elif row.row == "window":
            view = WindowView(_KINDS[row.kind], _STATES[row.state], row.opens_at)
            history.windows.append((row.id, view))
        else:
            history.candidate_name = row.name
    return history


def _context(account: Account, interview: Interview, history: History) -> PolicyContext:
    return PolicyContext(
        interview=InterviewFacts(
            ends_at=interview.ends_at,
            timezone=interview.timezone,
            decision=Decision(interview.decision),
            decided_at=interview.decided_at,
            decision_expected_at=interview.decision_expected_at,
            company=interview.company,
            role_title=interview.role_title,
            candidate_name=history.candidate_name,
        ),
        contacts=history.contacts,
        attempts=history.attempts,
        settings=policy_settings(account),
    )


def _check_contact(fields: AttemptCreate, contacts: dict[str, ContactFacts]) -> None:
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
    history = await _history(session, interview, windows=False)
    _check_contact(fields, history.contacts)
    context = _context(account, interview, history)
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
    change too (`contact_attempt.rejected`). A stored attempt, the windows it moves,
    its events and their deliveries are written together (`write_with_events`).
    """
    occurred_at = fields.occurred_at or now
    if occurred_at > now + FUTURE_TOLERANCE:
        raise InputError(
            "occurred_at is more than 5 minutes in the future; use evaluate for planned attempts.",
            ["body", "occurred_at"],
        )
    history = await _history(session, interview, windows=True)
    _check_contact(fields, history.contacts)
    context = _context(account, interview, history)
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
        await write_with_events(
            session, (), {}, account.id, [(EventType.CONTACT_ATTEMPT_REJECTED, rejected)], now
        )
        raise _violation(evaluation, findings)

    row: dict[str, Any] = {
        "id": new_id("att"),
        "account_id": account.id,
        "interview_id": interview.id,
        "contact_id": facts.contact_id,
        "channel": facts.channel.value,
        "direction": facts.direction.value,
        "platform": facts.platform.value if facts.platform else None,
        "purpose": facts.purpose.value if facts.purpose else None,
        "occurred_at": occurred_at,
        "subject": facts.subject,
        "body": facts.body,
        "in_reply_to": facts.in_reply_to,
        "reply_to": evaluation.reply_to,
        "verdict": evaluation.verdict.value,
        "findings": [finding.model_dump(mode="json") for finding in findings],
        "created_at": now,
    }
    read = AttemptRead.model_validate(row)
    contact = history.contacts.get(facts.contact_id) if facts.contact_id else None
    moved = window_service.attempt_transitions(
        history.windows,
        StoredAttempt(
            channel=facts.channel,
            direction=facts.direction,
            occurred_at=occurred_at,
            target=target_of(facts.channel, contact.role if contact else None),
        ),
        interview.ends_at,
    )
    changes: tuple[UpdateBase, ...] = (_INSERT_ATTEMPT,)
    params = {f"attempt_{name}": value for name, value in row.items()}
    if moved:
        changes += (window_service.set_states(len(moved)),)
        params.update(window_service.state_params(moved, now))
    data = AttemptEventData(
        attempt=read, interview_id=interview.id, verdict=evaluation.verdict, findings=findings
    )
    events: list[tuple[EventType, BaseModel]] = [(EventType.CONTACT_ATTEMPT_RECORDED, data)]
    if evaluation.verdict is Verdict.FLAGGED:
        events.append((EventType.CONTACT_ATTEMPT_FLAGGED, data))
    await write_with_events(session, changes, params, account.id, events, now)
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
