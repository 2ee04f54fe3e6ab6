"""Follow-up windows (contract section 7): opening times and attempt/decision transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.enums import Channel, Decision, Direction, WindowKind, WindowState
from app.targets import Target
from app.windows.schedule import (
    StoredAttempt,
    WindowTimes,
    WindowView,
    all_opening_times,
    check_in_opens_at,
    is_live,
    opens_at,
    transition_for_attempt,
    transition_for_decision,
)

T = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
THANK_YOU_OPENS = T + DAY
CHECK_IN_OPENS = T + 7 * DAY


def times(
    decision_expected_at: datetime | None = None,
    thank_you_delay: timedelta = DAY,
    check_in_delay: timedelta = 7 * DAY,
) -> WindowTimes:
    return WindowTimes(
        ends_at=T,
        decision_expected_at=decision_expected_at,
        thank_you_delay=thank_you_delay,
        check_in_delay=check_in_delay,
    )


def window(kind: WindowKind, state: WindowState = WindowState.PENDING) -> WindowView:
    return WindowView(kind=kind, state=state, opens_at=opens_at(kind, times()))


def attempt(
    occurred_at: datetime,
    channel: Channel = Channel.EMAIL,
    target: Target = Target.EMPLOYER,
    direction: Direction = Direction.OUTBOUND,
) -> StoredAttempt:
    return StoredAttempt(
        channel=channel, direction=direction, occurred_at=occurred_at, target=target
    )


def moves(view: WindowView, facts: StoredAttempt) -> WindowState | None:
    return transition_for_attempt(view, facts, interview_ends_at=T)


# Opening times


def test_thank_you_opens_a_day_after_the_interview_ends_by_default() -> None:
    assert opens_at(WindowKind.THANK_YOU, times()) == T + DAY


def test_thank_you_opens_after_the_accounts_own_delay() -> None:
    assert opens_at(WindowKind.THANK_YOU, times(thank_you_delay=timedelta(hours=2))) == (
        T + timedelta(hours=2)
    )


def test_thank_you_ignores_decision_expected_at() -> None:
    assert opens_at(WindowKind.THANK_YOU, times(decision_expected_at=T + 3 * DAY)) == T + DAY


def test_check_in_opens_a_week_after_the_interview_without_decision_expected_at() -> None:
    assert opens_at(WindowKind.CHECK_IN, times()) == T + 7 * DAY


def test_check_in_follows_the_accounts_check_in_delay() -> None:
    assert opens_at(WindowKind.CHECK_IN, times(check_in_delay=3 * DAY)) == T + 3 * DAY


def test_check_in_opens_at_decision_expected_at_when_set() -> None:
    expected = T + 3 * DAY + timedelta(hours=4)
    assert opens_at(WindowKind.CHECK_IN, times(decision_expected_at=expected)) == expected


def test_check_in_uses_decision_expected_at_even_when_later_than_the_delay() -> None:
    expected = T + 30 * DAY
    assert opens_at(WindowKind.CHECK_IN, times(decision_expected_at=expected)) == expected


def test_check_in_never_opens_before_thank_you_when_decision_is_expected_sooner() -> None:
    soon = T + timedelta(hours=1)
    assert opens_at(WindowKind.CHECK_IN, times(decision_expected_at=soon)) == T + DAY


def test_check_in_never_opens_before_thank_you_when_decision_expected_before_interview() -> None:
    assert opens_at(WindowKind.CHECK_IN, times(decision_expected_at=T - 2 * DAY)) == T + DAY


def test_check_in_never_opens_before_thank_you_with_a_short_check_in_delay() -> None:
    short = times(thank_you_delay=2 * DAY, check_in_delay=timedelta(hours=1))
    assert opens_at(WindowKind.CHECK_IN, short) == T + 2 * DAY


def test_decision_expected_at_in_another_offset_is_compared_as_an_instant() -> None:
    plus_five = timezone(timedelta(hours=5))
    expected = (T + 3 * DAY).astimezone(plus_five)
    assert opens_at(WindowKind.CHECK_IN, times(decision_expected_at=expected)) == T + 3 * DAY


@pytest.mark.parametrize("decision_expected_at", [None, T + 3 * DAY, T + timedelta(hours=1)])
def test_brief_referees_opens_with_check_in(decision_expected_at: datetime | None) -> None:
    t = times(decision_expected_at=decision_expected_at)
    assert opens_at(WindowKind.BRIEF_REFEREES, t) == opens_at(WindowKind.CHECK_IN, t)


def test_all_opening_times_lists_every_kind() -> None:
    t = times(decision_expected_at=T + 3 * DAY)
    assert all_opening_times(t) == {
        WindowKind.THANK_YOU: T + DAY,
        WindowKind.CHECK_IN: T + 3 * DAY,
        WindowKind.BRIEF_REFEREES: T + 3 * DAY,
    }


def test_check_in_opens_at_helper_matches_opens_at() -> None:
    t = times(decision_expected_at=T + 4 * DAY)
    assert check_in_opens_at(t) == T + 4 * DAY


def test_zero_delays_open_thank_you_at_the_end_of_the_interview() -> None:
    t = times(thank_you_delay=timedelta(0), check_in_delay=timedelta(0))
    assert all_opening_times(t) == dict.fromkeys(WindowKind, T)


aware_datetimes = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2099, 12, 30),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-8)), timezone(timedelta(hours=9))]),
)
delays = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=365))


@given(
    ends_at=aware_datetimes,
    decision_expected_at=st.none() | aware_datetimes,
    thank_you_delay=delays,
    check_in_delay=delays,
)
def test_check_in_never_opens_before_thank_you(
    ends_at: datetime,
    decision_expected_at: datetime | None,
    thank_you_delay: timedelta,
    check_in_delay: timedelta,
) -> None:
    t = WindowTimes(
        ends_at=ends_at,
        decision_expected_at=decision_expected_at,
        thank_you_delay=thank_you_delay,
        check_in_delay=check_in_delay,
    )
    thank_you = opens_at(WindowKind.THANK_YOU, t)
    check_in = opens_at(WindowKind.CHECK_IN, t)
    assert thank_you == ends_at + thank_you_delay
    assert check_in >= thank_you
    assert check_in in (thank_you, decision_expected_at or ends_at + check_in_delay)
    assert opens_at(WindowKind.BRIEF_REFEREES, t) == check_in


# thank_you


def test_employer_email_at_the_end_of_the_interview_completes_thank_you() -> None:
    assert moves(window(WindowKind.THANK_YOU), attempt(T)) is WindowState.COMPLETED


def test_employer_email_before_thank_you_opens_still_completes_it() -> None:
    early = attempt(T + timedelta(hours=2))
    assert moves(window(WindowKind.THANK_YOU), early) is WindowState.COMPLETED


def test_employer_email_completes_an_open_thank_you() -> None:
    view = window(WindowKind.THANK_YOU, WindowState.OPEN)
    assert moves(view, attempt(THANK_YOU_OPENS + DAY)) is WindowState.COMPLETED


def test_email_before_the_interview_ends_does_not_complete_thank_you() -> None:
    assert moves(window(WindowKind.THANK_YOU), attempt(T - SECOND)) is None


@pytest.mark.parametrize(
    "channel",
    [Channel.PHONE_CALL, Channel.VOICEMAIL, Channel.TEXT_MESSAGE, Channel.IN_PERSON, Channel.OTHER],
)
def test_non_email_contact_does_not_complete_thank_you(channel: Channel) -> None:
    view = window(WindowKind.THANK_YOU, WindowState.OPEN)
    assert moves(view, attempt(THANK_YOU_OPENS, channel=channel)) is None


def test_email_to_a_referee_does_not_complete_thank_you() -> None:
    view = window(WindowKind.THANK_YOU, WindowState.OPEN)
    assert moves(view, attempt(THANK_YOU_OPENS, target=Target.REFEREE)) is None


def test_inbound_email_does_not_complete_thank_you() -> None:
    view = window(WindowKind.THANK_YOU, WindowState.OPEN)
    assert moves(view, attempt(THANK_YOU_OPENS, direction=Direction.INBOUND)) is None


# check_in


def test_employer_contact_when_check_in_opens_completes_it() -> None:
    view = window(WindowKind.CHECK_IN, WindowState.OPEN)
    assert moves(view, attempt(CHECK_IN_OPENS, Channel.PHONE_CALL)) is WindowState.COMPLETED


@pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.PHONE_CALL, Channel.IN_PERSON])
def test_any_employer_contact_after_check_in_opens_completes_it(channel: Channel) -> None:
    view = window(WindowKind.CHECK_IN, WindowState.OPEN)
    assert moves(view, attempt(CHECK_IN_OPENS + DAY, channel)) is WindowState.COMPLETED


def test_employer_contact_after_opens_at_completes_a_still_pending_check_in() -> None:
    view = window(WindowKind.CHECK_IN, WindowState.PENDING)
    assert moves(view, attempt(CHECK_IN_OPENS + SECOND)) is WindowState.COMPLETED


def test_employer_contact_before_check_in_opens_does_not_complete_it() -> None:
    view = window(WindowKind.CHECK_IN, WindowState.PENDING)
    assert moves(view, attempt(CHECK_IN_OPENS - SECOND)) is None


def test_thank_you_email_does_not_complete_check_in() -> None:
    assert moves(window(WindowKind.CHECK_IN), attempt(THANK_YOU_OPENS)) is None


def test_check_in_uses_the_windows_own_opening_time() -> None:
    expected = T + 3 * DAY
    view = WindowView(
        kind=WindowKind.CHECK_IN,
        state=WindowState.OPEN,
        opens_at=opens_at(WindowKind.CHECK_IN, times(decision_expected_at=expected)),
    )
    assert moves(view, attempt(expected)) is WindowState.COMPLETED
    assert moves(view, attempt(expected - SECOND)) is None


def test_referee_contact_does_not_complete_check_in() -> None:
    view = window(WindowKind.CHECK_IN, WindowState.OPEN)
    assert moves(view, attempt(CHECK_IN_OPENS + DAY, target=Target.REFEREE)) is None


def test_public_post_does_not_complete_check_in() -> None:
    view = window(WindowKind.CHECK_IN, WindowState.OPEN)
    post = attempt(CHECK_IN_OPENS + DAY, Channel.PUBLIC_POST, target=Target.NONE)
    assert moves(view, post) is None


# brief_referees


@pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.PHONE_CALL, Channel.TEXT_MESSAGE])
def test_referee_contact_after_the_interview_completes_brief_referees(channel: Channel) -> None:
    view = window(WindowKind.BRIEF_REFEREES)
    assert moves(view, attempt(T, channel, target=Target.REFEREE)) is WindowState.COMPLETED


def test_referee_contact_completes_an_open_brief_referees() -> None:
    view = window(WindowKind.BRIEF_REFEREES, WindowState.OPEN)
    late = attempt(CHECK_IN_OPENS + DAY, target=Target.REFEREE)
    assert moves(view, late) is WindowState.COMPLETED


def test_referee_contact_before_the_interview_ends_does_not_complete_brief_referees() -> None:
    view = window(WindowKind.BRIEF_REFEREES)
    assert moves(view, attempt(T - SECOND, target=Target.REFEREE)) is None


def test_employer_contact_does_not_complete_brief_referees() -> None:
    view = window(WindowKind.BRIEF_REFEREES, WindowState.OPEN)
    assert moves(view, attempt(CHECK_IN_OPENS + DAY)) is None


def test_inbound_referee_contact_does_not_complete_brief_referees() -> None:
    view = window(WindowKind.BRIEF_REFEREES, WindowState.OPEN)
    heard = attempt(CHECK_IN_OPENS, target=Target.REFEREE, direction=Direction.INBOUND)
    assert moves(view, heard) is None


# Hearing back


def test_hearing_back_cancels_a_pending_check_in() -> None:
    heard = attempt(T + 2 * DAY, Channel.PHONE_CALL, direction=Direction.INBOUND)
    assert moves(window(WindowKind.CHECK_IN), heard) is WindowState.CANCELLED


def test_hearing_back_leaves_an_open_check_in_open() -> None:
    heard = attempt(CHECK_IN_OPENS + DAY, direction=Direction.INBOUND)
    assert moves(window(WindowKind.CHECK_IN, WindowState.OPEN), heard) is None


@pytest.mark.parametrize("kind", [WindowKind.THANK_YOU, WindowKind.BRIEF_REFEREES])
@pytest.mark.parametrize("state", [WindowState.PENDING, WindowState.OPEN])
def test_hearing_back_does_not_cancel_other_windows(kind: WindowKind, state: WindowState) -> None:
    heard = attempt(T + 2 * DAY, direction=Direction.INBOUND)
    assert moves(window(kind, state), heard) is None


# Decisions

FINAL_DECISIONS = [d for d in Decision if d is not Decision.PENDING]


@pytest.mark.parametrize("decision", FINAL_DECISIONS)
@pytest.mark.parametrize("kind", list(WindowKind))
def test_decision_cancels_a_pending_window(decision: Decision, kind: WindowKind) -> None:
    assert transition_for_decision(window(kind), decision) is WindowState.CANCELLED


@pytest.mark.parametrize("decision", FINAL_DECISIONS)
@pytest.mark.parametrize("kind", list(WindowKind))
def test_decision_leaves_an_open_window_alone(decision: Decision, kind: WindowKind) -> None:
    assert transition_for_decision(window(kind, WindowState.OPEN), decision) is None


@pytest.mark.parametrize("kind", list(WindowKind))
def test_pending_decision_cancels_nothing(kind: WindowKind) -> None:
    assert transition_for_decision(window(kind), Decision.PENDING) is None


# Final states

FINAL_STATES = [WindowState.COMPLETED, WindowState.CANCELLED]
EVERY_KIND_OF_ATTEMPT = [
    attempt(CHECK_IN_OPENS + DAY),
    attempt(CHECK_IN_OPENS + DAY, Channel.PHONE_CALL),
    attempt(CHECK_IN_OPENS + DAY, target=Target.REFEREE),
    attempt(CHECK_IN_OPENS + DAY, direction=Direction.INBOUND),
    attempt(T + 2 * DAY, direction=Direction.INBOUND),
]


@pytest.mark.parametrize("facts", EVERY_KIND_OF_ATTEMPT)
@pytest.mark.parametrize("state", FINAL_STATES)
@pytest.mark.parametrize("kind", list(WindowKind))
def test_finished_windows_ignore_attempts(
    kind: WindowKind, state: WindowState, facts: StoredAttempt
) -> None:
    assert moves(window(kind, state), facts) is None


@pytest.mark.parametrize("decision", list(Decision))
@pytest.mark.parametrize("state", FINAL_STATES)
@pytest.mark.parametrize("kind", list(WindowKind))
def test_finished_windows_ignore_decisions(
    kind: WindowKind, state: WindowState, decision: Decision
) -> None:
    assert transition_for_decision(window(kind, state), decision) is None


@pytest.mark.parametrize(
    ("state", "live"),
    [
        (WindowState.PENDING, True),
        (WindowState.OPEN, True),
        (WindowState.COMPLETED, False),
        (WindowState.CANCELLED, False),
    ],
)
def test_only_pending_and_open_windows_are_live(state: WindowState, live: bool) -> None:
    assert is_live(state) is live
