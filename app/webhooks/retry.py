"""When a failed delivery is tried again (contract section 8, "Delivery"); pure, clock-free."""

from __future__ import annotations

import email.utils
import math
import random
import re
from collections.abc import Sequence
from datetime import UTC, datetime

DEFAULT_SCHEDULE: tuple[float, ...] = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
"""Seconds to wait after the 1st, 2nd, ... failed attempt; then the delivery is failed."""

JITTER = 0.2
"""Each step is stretched or shrunk by up to 20 %, so retries of many deliveries spread out."""

RETRY_AFTER_CAP_SECONDS = 24 * 60 * 60.0
"""A subscriber's `Retry-After` is honoured up to a day; longer would stall the delivery."""

MAX_STEP_SECONDS = 365 * 24 * 60 * 60.0
MAX_STEPS = 100
"""Bounds on `FOLLOWUP_WEBHOOK_RETRY_SCHEDULE`, so a typo cannot overflow a timedelta."""

_NUMBER = re.compile(r"\d+(?:\.\d+)?", re.ASCII)
_DELTA_SECONDS = re.compile(r"\d+", re.ASCII)


def parse_schedule(text: str) -> tuple[float, ...]:
    """Parse `FOLLOWUP_WEBHOOK_RETRY_SCHEDULE`: comma-separated non-negative seconds.

    Raises ValueError (with the offending item) so settings validation can report it.
    """
    items = [item.strip() for item in text.split(",")]
    if len(items) > MAX_STEPS:
        raise ValueError(f"retry schedule has more than {MAX_STEPS} steps")
    steps: list[float] = []
    for position, item in enumerate(items, start=1):
        if not item:
            raise ValueError(f"retry schedule item {position} is empty")
        if not _NUMBER.fullmatch(item):
            raise ValueError(
                f"retry schedule item {position} ({item!r}) is not a non-negative number of seconds"
            )
        step = float(item)
        if step > MAX_STEP_SECONDS:
            raise ValueError(f"retry schedule item {position} ({item!r}) is longer than a year")
        steps.append(step)
    return tuple(steps)


def next_retry_delay(
    attempt_number: int,
    schedule: Sequence[float],
    rng: random.Random,
    retry_after: float | None,
) -> float | None:
    """Seconds to wait after failed attempt `attempt_number` (1-based), or None when exhausted.

    None means the delivery becomes `failed`. `retry_after` (the caller passes it only for
    429 and 503) is a minimum, capped at 24 h; it never revives an exhausted schedule.
    """
    if attempt_number < 1:
        raise ValueError("attempt_number is 1-based")
    if attempt_number > len(schedule):
        return None
    step = schedule[attempt_number - 1]
    low, high = step * (1 - JITTER), step * (1 + JITTER)
    delay = min(high, max(low, low + (high - low) * rng.random()))
    if retry_after is not None:
        delay = max(delay, min(max(retry_after, 0.0), RETRY_AFTER_CAP_SECONDS))
    return delay


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a `Retry-After` header asks for (RFC 9110 10.2.3), or None if absent or invalid.

    Accepts delay-seconds or an HTTP-date; a date in the past means 0. The result is capped
    at 24 h, like the delay it feeds, so absurd values cannot overflow.
    """
    if value is None:
        return None
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    text = value.strip()
    if not text:
        return None
    if text.isascii() and _DELTA_SECONDS.fullmatch(text):
        return min(float(text), RETRY_AFTER_CAP_SECONDS)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - now).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP_SECONDS)
