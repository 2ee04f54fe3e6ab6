"""When each follow-up window opens, and which attempts complete or cancel it.

Pure functions over plain values: the services pass the interview's times, the
account's delays and the attempt, and apply the returned transitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.enums import Channel, Decision, Direction, WindowKind, WindowState
from app.targets import Target


@dataclass(frozen=True)
class WindowTimes:
    """The interview facts that decide when its windows open."""

    ends_at: datetime
    decision_expected_at: datetime | None
    thank_you_delay: timedelta
    check_in_delay: timedelta


def opens_at(kind: WindowKind, times: WindowTimes) -> datetime:
    """Opening time of one window kind (contract section 7)."""
    thank_you = times.ends_at + times.thank_you_delay
    if kind is WindowKind.THANK_YOU:
        return thank_you
    check_in = times.decision_expected_at or times.ends_at + times.check_in_delay
    return max(check_in, thank_you)


def all_opening_times(times: WindowTimes) -> dict[WindowKind, datetime]:
    return {kind: opens_at(kind, times) for kind in WindowKind}


def check_in_opens_at(times: WindowTimes) -> datetime:
    return opens_at(WindowKind.CHECK_IN, times)


@dataclass(frozen=True)
class WindowView:
    """A window as the transition rules see it."""

    kind: WindowKind
    state: WindowState
    opens_at: datetime


@dataclass(frozen=True)
class StoredAttempt:
    """What a stored attempt contributes to window transitions."""

    channel: Channel
    direction: Direction
    occurred_at: datetime
    target: Target


def is_live(state: WindowState) -> bool:
    """Pending and open windows can still change; completed and cancelled ones cannot."""
    return state in (WindowState.PENDING, WindowState.OPEN)


def transition_for_attempt(
    window: WindowView, attempt: StoredAttempt, interview_ends_at: datetime
) -> WindowState | None:
    """The state a stored attempt moves the window to, or None if it leaves it alone."""
    if not is_live(window.state):
        return None
    if attempt.direction is Direction.INBOUND:
        if window.kind is WindowKind.CHECK_IN and window.state is WindowState.PENDING:
            return WindowState.CANCELLED
        return None
    after_interview = attempt.occurred_at >= interview_ends_at
    to_employer = attempt.target is Target.EMPLOYER
    if window.kind is WindowKind.THANK_YOU:
        if to_employer and attempt.channel is Channel.EMAIL and after_interview:
            return WindowState.COMPLETED
    elif window.kind is WindowKind.CHECK_IN:
        if to_employer and attempt.occurred_at >= window.opens_at:
            return WindowState.COMPLETED
    elif attempt.target is Target.REFEREE and after_interview:
        return WindowState.COMPLETED
    return None


def transition_for_decision(window: WindowView, decision: Decision) -> WindowState | None:
    """A recorded decision cancels every window that has not opened yet."""
    if decision is not Decision.PENDING and window.state is WindowState.PENDING:
        return WindowState.CANCELLED
    return None
