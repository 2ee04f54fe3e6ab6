"""What the policy engine reads and what it returns: plain frozen values, no I/O.

Datetimes must be timezone-aware (the API refuses naive ones); comparisons between
naive and aware values would raise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from app.enums import (
    Channel,
    ContactRole,
    Decision,
    Direction,
    Platform,
    Purpose,
    Severity,
    Verdict,
)

if TYPE_CHECKING:
    # Type-only: settings depends on the rule registry, which depends on this module.
    from app.policy.settings import PolicySettings


@dataclass(frozen=True)
class ContactFacts:
    """A person at the employer, or one of the candidate's referees."""

    id: str
    name: str
    role: ContactRole
    timezone: str | None = None


@dataclass(frozen=True)
class InterviewFacts:
    """The interview as it stands now (its current decision and times)."""

    ends_at: datetime
    timezone: str
    decision: Decision
    decided_at: datetime | None
    decision_expected_at: datetime | None
    company: str
    role_title: str
    candidate_name: str


@dataclass(frozen=True)
class AttemptFacts:
    """A contact attempt: the one being evaluated, or one already stored."""

    channel: Channel
    direction: Direction
    occurred_at: datetime
    contact_id: str | None = None
    platform: Platform | None = None
    purpose: Purpose | None = None
    subject: str | None = None
    body: str | None = None
    id: str | None = None
    """Set on stored attempts (a reply names its inbound attempt by id); None on the
    attempt being evaluated, which is not stored yet."""
    in_reply_to: str | None = None
    """The evaluated attempt's explicit answer to an earlier inbound attempt, if any."""
    reply_to: str | None = None
    """On a stored attempt: the inbound attempt it answered, as judged when it was stored.
    A stored reply is never counted against the candidate later."""


@dataclass(frozen=True)
class PolicyContext:
    """Everything an evaluation may look at besides the attempt itself.

    `attempts` are all stored attempts of the interview; the engine keeps only those
    strictly earlier than the evaluated attempt, so callers need not filter.
    """

    interview: InterviewFacts
    contacts: Mapping[str, ContactFacts]
    attempts: Sequence[AttemptFacts]
    settings: PolicySettings


@dataclass(frozen=True)
class Finding:
    """One rule that fired, at the severity the account's settings give it."""

    rule: str
    severity: Severity
    message: str
    advice: str
    details: list[dict[str, object]] | None = None


@dataclass(frozen=True)
class Evaluation:
    """The verdict and its findings, most severe first."""

    verdict: Verdict
    findings: tuple[Finding, ...]
    reply_to: str | None = None
    """The id of the inbound attempt this one answers, or None when it is not a reply."""
