"""Evaluate one contact attempt against the account's policy (contract sections 5 and 6)."""

from collections.abc import Iterable, Mapping
from datetime import datetime

from app.enums import Channel, Decision, Severity, Verdict
from app.policy import model
from app.policy.model import AttemptFacts, ContactFacts, Evaluation, Finding, PolicyContext
from app.policy.registry import RULES
from app.policy.replies import answered_inbound
from app.policy.rules.base import EMPLOYER, INBOUND, OUTBOUND, Situation
from app.targets import Target, target_of
from app.windows.schedule import WindowTimes, check_in_opens_at


def evaluate(attempt: AttemptFacts, ctx: PolicyContext) -> Evaluation:
    """Findings of every enabled rule, most severe first, and the verdict they imply.

    Stored attempts count only if strictly earlier than `attempt`: outbound ones for the
    rules, inbound ones to decide whether `attempt` is a reply (`Evaluation.reply_to`).
    Inbound attempts and attempts to a referee are never blocked: a `block` becomes
    `warn` for them.
    """
    situation = _situation(attempt, ctx)
    protected = attempt.direction is INBOUND or situation.target is Target.REFEREE
    findings: list[Finding] = []
    settings = ctx.settings
    for rule in RULES:
        configured = settings.rules.get(rule.id) or settings.rule(rule.id)
        if not configured.enabled:
            continue
        hit = rule.check(situation)
        if hit is None:
            continue
        severity = hit.severity or configured.severity_for(situation.pending)
        if severity is Severity.BLOCK and (hit.soften or protected):
            severity = Severity.WARN
        findings.append(Finding(rule.id, severity, hit.message, hit.advice, hit.details))
    findings.sort(key=lambda finding: finding.severity.rank)  # stable: registry order within
    reply_to = situation.reply.id if situation.reply is not None else None
    return Evaluation(verdict_for(findings), tuple(findings), reply_to)


def verdict_for(findings: Iterable[Finding]) -> Verdict:
    """`rejected` on any block, `flagged` on any warn, else `allowed` (info never flags)."""
    severities = {finding.severity for finding in findings}
    if Severity.BLOCK in severities:
        return Verdict.REJECTED
    if Severity.WARN in severities:
        return Verdict.FLAGGED
    return Verdict.ALLOWED


def is_pending(interview: model.InterviewFacts, at: datetime) -> bool:
    """Undecided, or decided only after `at` (the attempt's `occurred_at`)."""
    if interview.decision is Decision.PENDING:
        return True
    return interview.decided_at is not None and at < interview.decided_at


def _contact(attempt: AttemptFacts, contacts: Mapping[str, ContactFacts]) -> ContactFacts | None:
    return contacts.get(attempt.contact_id) if attempt.contact_id is not None else None


def _target(attempt: AttemptFacts, contact: ContactFacts | None) -> Target:
    return target_of(attempt.channel, contact.role if contact is not None else None)


def _chronological(attempt: AttemptFacts) -> tuple[datetime, str, str, str]:
    """Oldest first; simultaneous attempts in a fixed order, whatever order the caller used
    (channels in the order of their values: a `Channel` is its value as a string)."""
    return attempt.occurred_at, attempt.channel, attempt.contact_id or "", attempt.id or ""


def _situation(attempt: AttemptFacts, ctx: PolicyContext) -> Situation:
    interview, settings, contacts = ctx.interview, ctx.settings, ctx.contacts
    contact = _contact(attempt, contacts)
    at = attempt.occurred_at
    return Situation(
        attempt=attempt,
        target=_target(attempt, contact),
        contact=contact,
        interview=interview,
        contacts=contacts,
        settings=settings,
        pending=is_pending(interview, at),
        check_in_opens_at=check_in_opens_at(
            WindowTimes(
                ends_at=interview.ends_at,
                decision_expected_at=interview.decision_expected_at,
                thank_you_delay=settings.thank_you_delay,
                check_in_delay=settings.check_in_delay,
            )
        ),
        earlier_employer=_earlier_to_employer(ctx.attempts, at, contacts),
        reply=answered_inbound(attempt, ctx.attempts, contacts, settings.reply_window),
    )


def _earlier_to_employer(
    attempts: Iterable[AttemptFacts], at: datetime, contacts: Mapping[str, ContactFacts]
) -> tuple[AttemptFacts, ...]:
    """Stored outbound attempts to the employer strictly before `at`, replies left out,
    oldest first: all the rules count. Filtered before sorting, since a history may hold
    hundreds of attempts and few are counted."""
    earlier = [
        stored
        for stored in attempts
        if stored.direction is OUTBOUND and stored.occurred_at < at and stored.reply_to is None
    ]
    to_employer: dict[tuple[Channel, str | None], bool] = {}
    counted = []
    for stored in earlier:  # an interview has few contacts and channels: resolve each once
        key = (stored.channel, stored.contact_id)
        employer = to_employer.get(key)
        if employer is None:
            employer = to_employer[key] = _target(stored, _contact(stored, contacts)) is EMPLOYER
        if employer:
            counted.append(stored)
    counted.sort(key=_chronological)
    return tuple(counted)
