"""Builders for policy tests: an interview that ended at T, its contacts, attempts, settings."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from app.enums import Channel, ContactRole, Decision, Direction, Platform, Severity
from app.policy import (
    DEFAULT_SETTINGS,
    AttemptFacts,
    ContactFacts,
    Evaluation,
    Finding,
    InterviewFacts,
    PolicyContext,
    PolicySettings,
    RuleSettings,
    evaluate,
)

T = datetime(2025, 3, 4, 14, 0, tzinfo=UTC)
"""The interview's end: Tuesday 14:00 in London (GMT in early March)."""

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
SECOND = timedelta(seconds=1)

RECRUITER = ContactFacts("c-recruiter", "Priya Raghunathan", ContactRole.RECRUITER)
MANAGER = ContactFacts("c-manager", "Sam Okafor", ContactRole.HIRING_MANAGER, "America/New_York")
REFEREE = ContactFacts("c-referee", "Jordan Szczepanik", ContactRole.REFEREE)
CONTACTS = (RECRUITER, MANAGER, REFEREE)

INTERVIEW = InterviewFacts(
    ends_at=T,
    timezone="Europe/London",
    decision=Decision.PENDING,
    decided_at=None,
    decision_expected_at=None,
    company="Zentrovia Labs",
    role_title="Senior Backend Engineer",
    candidate_name="Alex Marchetti",
)

CLEAN_EMAIL = """Dear Priya,

Thank you for taking the time to meet with me yesterday about the Senior Backend Engineer
role at Zentrovia Labs. I enjoyed learning about your team's plans for the coming year.

Our conversation made me even more interested in the position, and I'm confident my
experience would help the team. Please don't hesitate to contact me if anything else would
help.

Best regards,
Alex Marchetti"""


_ids = itertools.count(1)


def attempt(
    channel: Channel = Channel.EMAIL,
    at: datetime = T + 2 * DAY,
    *,
    contact: ContactFacts | None = RECRUITER,
    direction: Direction = Direction.OUTBOUND,
    platform: Platform | None = None,
    subject: str | None = None,
    body: str | None = None,
    in_reply_to: str | None = None,
    reply_to: str | None = None,
) -> AttemptFacts:
    """An attempt with an id of its own (stored attempts have one; the evaluated attempt's
    is ignored); emails get a clean body unless one is given."""
    if body is None and channel is Channel.EMAIL:
        body = CLEAN_EMAIL
    if platform is None and channel in (
        Channel.SOCIAL_CONNECTION,
        Channel.SOCIAL_MESSAGE,
        Channel.PUBLIC_POST,
    ):
        platform = Platform.LINKEDIN
    return AttemptFacts(
        channel=channel,
        direction=direction,
        occurred_at=at,
        contact_id=contact.id if contact is not None else None,
        platform=platform,
        subject=subject,
        body=body,
        id=f"att-{next(_ids)}",
        in_reply_to=in_reply_to,
        reply_to=reply_to,
    )


def context(
    *stored: AttemptFacts,
    interview: InterviewFacts = INTERVIEW,
    settings: PolicySettings = DEFAULT_SETTINGS,
    contacts: tuple[ContactFacts, ...] = CONTACTS,
) -> PolicyContext:
    return PolicyContext(
        interview=interview,
        contacts={contact.id: contact for contact in contacts},
        attempts=list(stored),
        settings=settings,
    )


def run(
    evaluated: AttemptFacts,
    *stored: AttemptFacts,
    interview: InterviewFacts = INTERVIEW,
    settings: PolicySettings = DEFAULT_SETTINGS,
    contacts: tuple[ContactFacts, ...] = CONTACTS,
) -> Evaluation:
    return evaluate(
        evaluated, context(*stored, interview=interview, settings=settings, contacts=contacts)
    )


def decided(decision: Decision, at: datetime) -> InterviewFacts:
    return replace(INTERVIEW, decision=decision, decided_at=at)


def rule_ids(evaluation: Evaluation) -> list[str]:
    return [finding.rule for finding in evaluation.findings]


def finding(evaluation: Evaluation, rule_id: str) -> Finding:
    matches = [f for f in evaluation.findings if f.rule == rule_id]
    assert len(matches) == 1, f"expected one {rule_id} finding, got {rule_ids(evaluation)}"
    return matches[0]


def with_rule(
    rule_id: str,
    *,
    enabled: bool = True,
    severity: Severity | None = None,
    severity_after_decision: Severity | None = None,
    base: PolicySettings = DEFAULT_SETTINGS,
) -> PolicySettings:
    """Settings with one rule reconfigured (unspecified severities keep their current value)."""
    current = base.rule(rule_id)
    changed = RuleSettings(
        enabled=enabled,
        severity=severity or current.severity,
        severity_after_decision=severity_after_decision or current.severity_after_decision,
    )
    return replace(base, rules={**base.rules, rule_id: changed})


def everything_blocks() -> PolicySettings:
    """Every rule at `block`, before and after a decision."""
    return replace(
        DEFAULT_SETTINGS,
        rules={
            rule_id: RuleSettings(True, Severity.BLOCK, Severity.BLOCK)
            for rule_id in DEFAULT_SETTINGS.rules
        },
    )
