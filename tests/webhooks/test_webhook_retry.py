"""Retry schedule, jitter and Retry-After handling."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.webhooks.retry import (
    DEFAULT_SCHEDULE,
    RETRY_AFTER_CAP_SECONDS,
    next_retry_delay,
    parse_retry_after,
    parse_schedule,
)

NOW = datetime(2025, 3, 4, 12, 0, 0, tzinfo=UTC)
DAY = 24 * 60 * 60.0


def test_default_schedule_is_the_contract_schedule() -> None:
    assert DEFAULT_SCHEDULE == (5, 300, 1800, 7200, 18000, 36000, 36000)


def test_parse_schedule_reads_comma_separated_seconds() -> None:
    assert parse_schedule("1, 2.5,0,30") == (1.0, 2.5, 0.0, 30.0)


def test_parse_schedule_reads_a_single_step() -> None:
    assert parse_schedule("60") == (60.0,)


@pytest.mark.parametrize(
    "text",
    ["", " ", "1,,2", "1,", ",1", "-1", "1,-5", "abc", "1,two", "nan", "inf", "1e3", "0x10"],
)
def test_parse_schedule_refuses_bad_input(text: str) -> None:
    with pytest.raises(ValueError):
        parse_schedule(text)


def test_parse_schedule_names_the_empty_item() -> None:
    with pytest.raises(ValueError, match="item 2 is empty"):
        parse_schedule("5, ,300")


def test_parse_schedule_refuses_absurdly_long_steps() -> None:
    with pytest.raises(ValueError, match="longer than a year"):
        parse_schedule("5," + "9" * 20)


def test_first_failure_waits_about_five_seconds() -> None:
    delay = next_retry_delay(1, DEFAULT_SCHEDULE, random.Random(1), None)
    assert delay is not None
    assert 4.0 <= delay <= 6.0


def test_seventh_failure_waits_about_ten_hours_and_eighth_gives_up() -> None:
    rng = random.Random(2)
    seventh = next_retry_delay(7, DEFAULT_SCHEDULE, rng, None)
    assert seventh is not None
    assert 0.8 * 36000 <= seventh <= 1.2 * 36000
    assert next_retry_delay(8, DEFAULT_SCHEDULE, rng, None) is None


def test_exhausted_schedule_ignores_retry_after() -> None:
    assert next_retry_delay(8, DEFAULT_SCHEDULE, random.Random(3), 60.0) is None


def test_empty_schedule_means_no_retry() -> None:
    assert next_retry_delay(1, (), random.Random(0), None) is None


def test_attempt_numbers_are_one_based() -> None:
    with pytest.raises(ValueError):
        next_retry_delay(0, DEFAULT_SCHEDULE, random.Random(0), None)


def test_jitter_actually_varies_the_delay() -> None:
    rng = random.Random(4)
    delays = {next_retry_delay(2, DEFAULT_SCHEDULE, rng, None) for _ in range(20)}
    assert len(delays) > 1


def test_retry_after_longer_than_the_step_is_the_delay() -> None:
    assert next_retry_delay(1, DEFAULT_SCHEDULE, random.Random(5), 120.0) == 120.0


def test_retry_after_shorter_than_the_step_does_not_shorten_it() -> None:
    delay = next_retry_delay(3, DEFAULT_SCHEDULE, random.Random(6), 1.0)
    assert delay is not None
    assert delay >= 0.8 * 1800


def test_retry_after_is_capped_at_a_day() -> None:
    assert next_retry_delay(1, DEFAULT_SCHEDULE, random.Random(7), 7 * DAY) == DAY


@given(
    attempt=st.integers(min_value=1, max_value=12),
    schedule=st.lists(
        st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False),
        max_size=10,
    ),
    seed=st.integers(min_value=0, max_value=2**32),
    retry_after=st.none()
    | st.floats(min_value=-10, max_value=10 * DAY, allow_nan=False, allow_infinity=False),
)
def test_delay_stays_within_jitter_and_honours_retry_after(
    attempt: int, schedule: list[float], seed: int, retry_after: float | None
) -> None:
    delay = next_retry_delay(attempt, schedule, random.Random(seed), retry_after)
    if attempt > len(schedule):
        assert delay is None
        return
    assert delay is not None
    step = schedule[attempt - 1]
    assert delay >= step * 0.8
    if retry_after is None:
        assert delay <= step * 1.2
    else:
        floor = min(max(retry_after, 0.0), RETRY_AFTER_CAP_SECONDS)
        assert delay >= floor
        assert delay <= max(step * 1.2, floor)


def test_retry_after_absent_is_none() -> None:
    assert parse_retry_after(None, NOW) is None


@pytest.mark.parametrize(("value", "seconds"), [("120", 120.0), (" 0 ", 0.0), ("7", 7.0)])
def test_retry_after_delta_seconds(value: str, seconds: float) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_retry_after_http_date_in_the_future() -> None:
    assert parse_retry_after("Tue, 04 Mar 2025 12:01:30 GMT", NOW) == 90.0


def test_retry_after_http_date_compared_across_offsets() -> None:
    now = NOW.astimezone(timezone(timedelta(hours=5)))
    assert parse_retry_after("Tue, 04 Mar 2025 12:00:10 GMT", now) == 10.0


def test_retry_after_http_date_in_the_past_is_zero_not_negative() -> None:
    assert parse_retry_after("Tue, 04 Mar 2025 11:00:00 GMT", NOW) == 0.0


def test_retry_after_huge_delta_is_capped() -> None:
    assert parse_retry_after("9" * 400, NOW) == RETRY_AFTER_CAP_SECONDS


@pytest.mark.parametrize(
    "value", ["", "soon", "-5", "1.5", "+5", "12abc", "Tue, 99 Foo 2025 12:00:00 GMT", "٣"]
)
def test_retry_after_invalid_is_none(value: str) -> None:
    assert parse_retry_after(value, NOW) is None


def test_retry_after_needs_an_aware_now() -> None:
    with pytest.raises(ValueError):
        parse_retry_after("5", NOW.replace(tzinfo=None))


@given(value=st.text(max_size=40))
def test_retry_after_never_negative_and_never_raises(value: str) -> None:
    seconds = parse_retry_after(value, NOW)
    assert seconds is None or 0.0 <= seconds <= RETRY_AFTER_CAP_SECONDS
