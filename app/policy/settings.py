"""An account's policy settings: the JSON document of contract section 6.1 and its typed form.

The API validates the document's shape; this module only converts a valid document
into `PolicySettings`, filling in registry defaults for anything left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from types import MappingProxyType
from typing import Any, Final

from app.enums import Platform, Severity
from app.policy.registry import RULES, RULES_BY_ID, Rule

DAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Day names of `calling_hours.days`, indexed like `datetime.weekday()` (0 = Monday)."""


@dataclass(frozen=True)
class RuleSettings:
    """How one rule is configured for an account."""

    enabled: bool
    severity: Severity
    severity_after_decision: Severity | None = None

    def severity_for(self, pending: bool) -> Severity:
        """`severity_after_decision`, when set, replaces `severity` once a decision is made."""
        if not pending and self.severity_after_decision is not None:
            return self.severity_after_decision
        return self.severity


@dataclass(frozen=True)
class CallingHours:
    """When calls and texts are welcome, in the callee's local time."""

    start: time
    end: time
    days: frozenset[int]

    def allows(self, local: datetime) -> bool:
        """Whether a local wall-clock time is inside the hours.

        `start <= t < end` on one of `days`. An `end` before `start` spans midnight (the
        day is that of the start); `start == end` means the whole day.
        """
        clock = local.time()
        day = local.weekday()
        if self.start < self.end:
            return day in self.days and self.start <= clock < self.end
        if self.start == self.end:
            return day in self.days
        if clock >= self.start:
            return day in self.days
        return (day - 1) % 7 in self.days and clock < self.end

    def describe(self) -> str:
        """Human form, e.g. `08:00-18:00, Mon-Fri`."""
        return f"{self.start:%H:%M}-{self.end:%H:%M}, {_describe_days(self.days)}"


@dataclass(frozen=True)
class PolicySettings:
    """The typed form of an account's policy document."""

    rules: Mapping[str, RuleSettings]
    weekly_limit: int
    thank_you_delay: timedelta
    check_in_delay: timedelta
    allowed_platforms: frozenset[Platform]
    calling_hours: CallingHours
    reply_window: timedelta
    """How long an unanswered inbound attempt makes the next outbound one to that person a
    reply; `timedelta(0)` leaves only explicit `in_reply_to` replies."""
    known_words: frozenset[str] = frozenset()
    """The account's own words for the proofreader, in lower case (matched without case)."""

    def rule(self, rule_id: str) -> RuleSettings:
        """A rule's settings; a rule missing from `rules` keeps its registry default."""
        found = self.rules.get(rule_id)
        return found if found is not None else default_rule_settings(RULES_BY_ID[rule_id])


def default_rule_settings(rule: Rule) -> RuleSettings:
    return RuleSettings(
        enabled=True,
        severity=rule.default_severity,
        severity_after_decision=rule.default_severity_after_decision,
    )


_DURATION = re.compile(
    r"P(?:(?P<weeks>[0-9]+)W)?(?:(?P<days>[0-9]+)D)?"
    r"(?P<time>T(?:(?P<hours>[0-9]+)H)?(?:(?P<minutes>[0-9]+)M)?"
    r"(?:(?P<seconds>[0-9]+(?:[.,][0-9]+)?)S)?)?"
)


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration made of weeks, days, hours, minutes and seconds.

    Years and months are refused (their length varies), as are negative durations
    and designators without a number (`P`, `PT`, `P1DT`).
    """
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not an ISO 8601 duration of weeks, days, hours, minutes "
            "and seconds (e.g. PT24H, P7D, P1DT12H)"
        )
    parts = match.groupdict()
    time_given = any(parts[name] is not None for name in ("hours", "minutes", "seconds"))
    if parts["time"] is not None and not time_given:
        raise ValueError(f"{text!r} has a 'T' with no hours, minutes or seconds after it")
    if not time_given and parts["weeks"] is None and parts["days"] is None:
        raise ValueError(f"{text!r} is an empty duration")
    seconds = parts["seconds"]
    try:
        return timedelta(
            weeks=int(parts["weeks"] or 0),
            days=int(parts["days"] or 0),
            hours=int(parts["hours"] or 0),
            minutes=int(parts["minutes"] or 0),
            seconds=float(seconds.replace(",", ".")) if seconds is not None else 0,
        )
    except OverflowError as exc:
        raise ValueError(f"{text!r} is too long a duration") from exc


def _rule_document(rule: Rule) -> dict[str, Any]:
    doc: dict[str, Any] = {"enabled": True, "severity": rule.default_severity.value}
    if rule.default_severity_after_decision is not None:
        doc["severity_after_decision"] = rule.default_severity_after_decision.value
    return doc


DEFAULT_POLICY_DOCUMENT: Final[dict[str, Any]] = {
    "rules": {rule.id: _rule_document(rule) for rule in RULES},
    "weekly_limit": 2,
    "thank_you_delay": "PT24H",
    "check_in_delay": "P7D",
    "allowed_platforms": [],
    "known_words": [],
    "reply_window": "PT72H",
    "calling_hours": {
        "start": "08:00",
        "end": "18:00",
        "days": ["mon", "tue", "wed", "thu", "fri"],
    },
}
"""The contract's default document (section 6.1). Copy it before changing it."""


def settings_from_document(doc: Mapping[str, Any]) -> PolicySettings:
    """Convert a structurally valid policy document; absent keys take their defaults.

    Within a rule, an absent `severity_after_decision` keeps the registry default while
    an explicit `null` means "the same severity after a decision".
    """
    rules_doc: Mapping[str, Mapping[str, Any]] = doc.get("rules", {})
    unknown = sorted(set(rules_doc) - set(RULES_BY_ID))
    if unknown:
        raise ValueError(f"unknown rule ids: {', '.join(unknown)}")
    rules = {rule.id: _rule_settings(rule, rules_doc.get(rule.id, {})) for rule in RULES}
    hours_doc = {**DEFAULT_POLICY_DOCUMENT["calling_hours"], **doc.get("calling_hours", {})}
    return PolicySettings(
        rules=MappingProxyType(rules),
        weekly_limit=int(doc.get("weekly_limit", DEFAULT_POLICY_DOCUMENT["weekly_limit"])),
        thank_you_delay=parse_duration(
            doc.get("thank_you_delay", DEFAULT_POLICY_DOCUMENT["thank_you_delay"])
        ),
        check_in_delay=parse_duration(
            doc.get("check_in_delay", DEFAULT_POLICY_DOCUMENT["check_in_delay"])
        ),
        allowed_platforms=frozenset(Platform(p) for p in doc.get("allowed_platforms", [])),
        calling_hours=CallingHours(
            start=time.fromisoformat(hours_doc["start"]),
            end=time.fromisoformat(hours_doc["end"]),
            days=frozenset(_day_index(name) for name in hours_doc["days"]),
        ),
        known_words=frozenset(word.lower() for word in doc.get("known_words", [])),
        reply_window=parse_duration(
            doc.get("reply_window", DEFAULT_POLICY_DOCUMENT["reply_window"])
        ),
    )


def _rule_settings(rule: Rule, entry: Mapping[str, Any]) -> RuleSettings:
    after = entry.get("severity_after_decision", rule.default_severity_after_decision)
    return RuleSettings(
        enabled=bool(entry.get("enabled", True)),
        severity=Severity(entry.get("severity", rule.default_severity)),
        severity_after_decision=Severity(after) if after is not None else None,
    )


def _day_index(name: str) -> int:
    try:
        return DAY_NAMES.index(name.lower())
    except ValueError:
        raise ValueError(f"unknown day {name!r}; expected one of {', '.join(DAY_NAMES)}") from None


def _describe_days(days: frozenset[int]) -> str:
    """`Mon-Fri` for a run of days, else a comma-separated list."""
    ordered = sorted(days)
    if not ordered:
        return "no days"
    names = [DAY_NAMES[day].capitalize() for day in ordered]
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{names[0]}-{names[-1]}"
    return ", ".join(names)


DEFAULT_SETTINGS: Final = settings_from_document(DEFAULT_POLICY_DOCUMENT)
