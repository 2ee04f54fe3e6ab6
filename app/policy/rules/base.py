"""What every rule shares: the situation it judges, what it reports, and its metadata."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final, NamedTuple

from app.enums import Channel, Decision, Direction, Platform, Severity
from app.policy.model import AttemptFacts, ContactFacts, InterviewFacts
from app.targets import Target

if TYPE_CHECKING:
    # Type-only: settings imports the registry, which imports the rules.
    from app.policy.settings import PolicySettings

VOICE_AND_TEXT: Final = frozenset({Channel.PHONE_CALL, Channel.VOICEMAIL, Channel.TEXT_MESSAGE})
"""Channels that interrupt the recipient: rate-limited after the first follow-up, and
only welcome during calling hours."""

WEEK: Final = timedelta(days=7)

OFFERED: Final = frozenset({Decision.OFFER, Decision.HIRED})
"""Decisions after which talking to the employer is a negotiation, not chasing."""

OUTBOUND: Final = Direction.OUTBOUND
INBOUND: Final = Direction.INBOUND
EMPLOYER: Final = Target.EMPLOYER
"""Enum members that code run for every stored attempt compares with: a module global is
several times quicker to read than an enum's class attribute (the enum metaclass has a
`__getattr__`, which puts every class attribute read on a slow path)."""


class Situation(NamedTuple):
    """The evaluated attempt and the facts derived once for all rules (a named tuple, made
    for every evaluation: quicker to make than a frozen dataclass)."""

    attempt: AttemptFacts
    target: Target
    contact: ContactFacts | None
    interview: InterviewFacts
    contacts: Mapping[str, ContactFacts]
    settings: PolicySettings
    pending: bool
    """The decision is still open at `attempt.occurred_at`."""
    check_in_opens_at: datetime
    earlier_employer: tuple[AttemptFacts, ...]
    """Outbound attempts to the employer strictly earlier than this one that were not
    replies, oldest first: the only earlier attempts the rules count."""
    reply: AttemptFacts | None = None
    """The inbound attempt this one answers (contract section 5), or None."""

    @property
    def outbound(self) -> bool:
        return self.attempt.direction is OUTBOUND

    @property
    def to_employer(self) -> bool:
        return self.target is EMPLOYER

    @property
    def at(self) -> datetime:
        return self.attempt.occurred_at

    @property
    def is_reply(self) -> bool:
        """Answering the employer is not chasing them: the counting and timing rules pass."""
        return self.reply is not None

    @property
    def after_offer(self) -> bool:
        """After an `offer` or `hired` decision, contact is negotiation, not chasing."""
        return not self.pending and self.interview.decision in OFFERED

    def earlier_to_employer(
        self, channels: Collection[Channel] | None = None, *, since: datetime | None = None
    ) -> list[AttemptFacts]:
        """Earlier outbound employer attempts that were not replies, oldest first,
        optionally filtered. Replies are never counted against the candidate.

        `since` is inclusive: attempts at exactly that instant are kept.
        """
        return [
            earlier
            for earlier in self.earlier_employer
            if (channels is None or earlier.channel in channels)
            and (since is None or earlier.occurred_at >= since)
        ]


@dataclass(frozen=True)
class Hit:
    """What a rule reports when it fires; the engine assigns the severity."""

    message: str
    advice: str
    details: list[dict[str, object]] | None = None
    soften: bool = False
    """Cap `block` at `warn` (e.g. a platform the account allows)."""
    severity: Severity | None = None
    """A fixed severity that overrides the account's setting (a note for information)."""


Check = Callable[[Situation], Hit | None]


@dataclass(frozen=True)
class Rule:
    """A policy rule: its contract id, defaults, documentation and check."""

    id: str
    default_severity: Severity
    fires_when: str
    """One sentence for the docs page."""
    quote: str | None
    """The seed passage the rule enforces, word for word; None for rules of our own."""
    check: Check
    default_severity_after_decision: Severity | None = None


def rule(
    *,
    id: str,
    default_severity: Severity,
    fires_when: str,
    quote: str | None,
    default_severity_after_decision: Severity | None = None,
) -> Callable[[Check], Rule]:
    """Declare a rule next to its check function."""

    def wrap(check: Check) -> Rule:
        return Rule(
            id=id,
            default_severity=default_severity,
            fires_when=fires_when,
            quote=quote,
            check=check,
            default_severity_after_decision=default_severity_after_decision,
        )

    return wrap


def cite(quote: str) -> str:
    """The seed passage, quoted, for a finding's advice."""
    return f'As the guidance puts it: "{quote}"'


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with `Z`, as the API prints times."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def when(moment: datetime) -> str:
    """A time for a sentence, e.g. `2025-03-11 17:00 UTC`."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def span(delta: timedelta) -> str:
    """A duration for a sentence, e.g. `2 d 3 h`, `23 h 59 min`, `45 s`."""
    seconds = max(0, math.ceil(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    if not days:
        parts.append(f"{minutes} min" if minutes else "")
    return " ".join(part for part in parts if part)


def channel_name(channel: Channel) -> str:
    return channel.value.replace("_", " ")


_PLATFORM_NAMES: Final = {
    Platform.FACEBOOK: "Facebook",
    Platform.TWITTER: "Twitter",
    Platform.LINKEDIN: "LinkedIn",
    Platform.INSTAGRAM: "Instagram",
    Platform.TIKTOK: "TikTok",
    Platform.OTHER: "a social platform",
}


def on_platform(platform: Platform | None) -> str:
    """`on LinkedIn`, or `on social media` when the platform is unknown."""
    return f"on {_PLATFORM_NAMES[platform]}" if platform is not None else "on social media"
