"""Each rule of contract section 6: when it fires, when it doesn't, and its boundaries."""

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import pytest

from app.enums import Channel, Decision, Direction, Platform, Severity, Verdict
from app.policy import DEFAULT_SETTINGS, CallingHours, settings_from_document
from app.schemas.attempts import EvaluationRead, FindingRead
from tests.policy.policy_factories import (
    DAY,
    HOUR,
    INTERVIEW,
    MANAGER,
    RECRUITER,
    REFEREE,
    SECOND,
    WEEK,
    T,
    attempt,
    decided,
    everything_blocks,
    finding,
    rule_ids,
    run,
    with_rule,
)

CALL = Channel.PHONE_CALL
VOICEMAIL = Channel.VOICEMAIL
TEXT = Channel.TEXT_MESSAGE
EMAIL = Channel.EMAIL


# --- wait-24-hours -----------------------------------------------------------------


@pytest.mark.parametrize("offset", [timedelta(0), HOUR, DAY - SECOND])
def test_contact_within_24_hours_of_the_interview_is_flagged(offset: timedelta) -> None:
    evaluation = run(attempt(EMAIL, T + offset))
    found = finding(evaluation, "wait-24-hours")
    assert found.severity is Severity.WARN
    assert evaluation.verdict is Verdict.FLAGGED


def test_wait_24_hours_message_says_how_long_remains() -> None:
    found = finding(run(attempt(EMAIL, T + 1 * HOUR)), "wait-24-hours")
    assert "23 h remain" in found.message
    assert found.details == [
        {
            "interview_ended_at": "2025-03-04T14:00:00Z",
            "wait_until": "2025-03-05T14:00:00Z",
            "remaining_seconds": 23 * 3600,
        }
    ]


@pytest.mark.parametrize("offset", [DAY, DAY + SECOND, -SECOND, -HOUR])
def test_contact_before_the_interview_ends_or_after_24_hours_is_not_held_back(
    offset: timedelta,
) -> None:
    assert "wait-24-hours" not in rule_ids(run(attempt(EMAIL, T + offset)))


def test_a_call_without_a_contact_counts_as_employer_contact() -> None:
    assert "wait-24-hours" in rule_ids(run(attempt(CALL, T + HOUR, contact=None)))


def test_social_channels_are_not_held_by_the_24_hour_wait() -> None:
    evaluation = run(attempt(Channel.SOCIAL_MESSAGE, T + HOUR, body="Thanks for today!"))
    assert "wait-24-hours" not in rule_ids(evaluation)


def test_a_referee_can_be_briefed_straight_after_the_interview() -> None:
    assert "wait-24-hours" not in rule_ids(run(attempt(EMAIL, T + HOUR, contact=REFEREE)))


def test_an_inbound_call_right_after_the_interview_has_no_findings() -> None:
    evaluation = run(attempt(CALL, T + HOUR, direction=Direction.INBOUND))
    assert evaluation.findings == ()
    assert evaluation.verdict is Verdict.ALLOWED


def test_thank_you_delay_comes_from_the_settings() -> None:
    settings = replace(DEFAULT_SETTINGS, thank_you_delay=timedelta(hours=2))
    assert "wait-24-hours" in rule_ids(
        run(attempt(EMAIL, T + 2 * HOUR - SECOND), settings=settings)
    )
    assert "wait-24-hours" not in rule_ids(run(attempt(EMAIL, T + 2 * HOUR), settings=settings))


def test_a_zero_thank_you_delay_never_holds_back() -> None:
    settings = replace(DEFAULT_SETTINGS, thank_you_delay=timedelta(0))
    assert "wait-24-hours" not in rule_ids(run(attempt(EMAIL, T), settings=settings))


# --- no-repeat-calls ---------------------------------------------------------------

FOLLOW_UP = attempt(EMAIL, T + DAY + HOUR)
"""The initial follow-up: an email to the recruiter the day after the interview."""


@pytest.mark.parametrize("channel", [CALL, VOICEMAIL, TEXT])
def test_calling_after_the_initial_follow_up_is_blocked(channel: Channel) -> None:
    evaluation = run(attempt(channel, T + 2 * DAY), FOLLOW_UP)
    found = finding(evaluation, "no-repeat-calls")
    assert found.severity is Severity.BLOCK
    assert evaluation.verdict is Verdict.REJECTED
    assert found.details == [
        {
            "initial_follow_up_at": "2025-03-05T15:00:00Z",
            "initial_follow_up_channel": "email",
            "check_in_opens_at": "2025-03-11T14:00:00Z",
        }
    ]


def test_calling_before_any_follow_up_is_not_a_repeat() -> None:
    assert "no-repeat-calls" not in rule_ids(run(attempt(CALL, T + 2 * DAY)))


def test_contact_before_the_interview_ended_is_not_the_initial_follow_up() -> None:
    before = attempt(EMAIL, T - HOUR)
    assert "no-repeat-calls" not in rule_ids(run(attempt(CALL, T + 2 * DAY), before))


def test_a_follow_up_exactly_at_t_is_the_initial_follow_up() -> None:
    at_t = attempt(EMAIL, T)
    assert "no-repeat-calls" in rule_ids(run(attempt(CALL, T + 2 * DAY), at_t))


def test_a_follow_up_at_the_same_instant_is_not_earlier() -> None:
    same_time = attempt(EMAIL, T + 2 * DAY)
    assert "no-repeat-calls" not in rule_ids(run(attempt(CALL, T + 2 * DAY), same_time))


def test_later_stored_attempts_are_ignored() -> None:
    later = attempt(EMAIL, T + 3 * DAY)
    assert "no-repeat-calls" not in rule_ids(run(attempt(CALL, T + 2 * DAY), later))


def test_hearing_back_is_not_a_follow_up() -> None:
    inbound = attempt(CALL, T + DAY + HOUR, direction=Direction.INBOUND)
    assert "no-repeat-calls" not in rule_ids(run(attempt(CALL, T + 2 * DAY), inbound))


def test_briefing_a_referee_is_not_a_follow_up_with_the_employer() -> None:
    briefing = attempt(EMAIL, T + DAY + HOUR, contact=REFEREE)
    assert "no-repeat-calls" not in rule_ids(run(attempt(CALL, T + 2 * DAY), briefing))


def test_calling_a_referee_after_the_follow_up_is_fine() -> None:
    evaluation = run(attempt(CALL, T + 2 * DAY, contact=REFEREE), FOLLOW_UP)
    assert "no-repeat-calls" not in rule_ids(evaluation)


def test_repeat_calls_are_blocked_until_just_before_the_check_in_window_opens() -> None:
    opens = T + WEEK
    assert "no-repeat-calls" in rule_ids(run(attempt(CALL, opens - SECOND), FOLLOW_UP))
    assert "no-repeat-calls" not in rule_ids(run(attempt(CALL, opens), FOLLOW_UP))


def test_the_expected_decision_date_opens_the_check_in_window() -> None:
    interview = replace(INTERVIEW, decision_expected_at=T + 3 * DAY)
    before = run(attempt(CALL, T + 3 * DAY - SECOND), FOLLOW_UP, interview=interview)
    at = run(attempt(CALL, T + 3 * DAY), FOLLOW_UP, interview=interview)
    assert "no-repeat-calls" in rule_ids(before)
    assert "no-repeat-calls" not in rule_ids(at)


def test_the_check_in_window_never_opens_before_the_thank_you_window() -> None:
    interview = replace(INTERVIEW, decision_expected_at=T + HOUR)
    early_follow_up = attempt(EMAIL, T + 2 * HOUR)
    evaluation = run(attempt(CALL, T + DAY - SECOND), early_follow_up, interview=interview)
    assert "no-repeat-calls" in rule_ids(evaluation)


def test_an_email_after_the_follow_up_is_not_a_repeat_call() -> None:
    assert "no-repeat-calls" not in rule_ids(run(attempt(EMAIL, T + 2 * DAY), FOLLOW_UP))


# --- one-follow-up-email ---------------------------------------------------------------


def test_a_second_follow_up_email_is_flagged() -> None:
    evaluation = run(attempt(EMAIL, T + 2 * DAY, contact=MANAGER), FOLLOW_UP)
    found = finding(evaluation, "one-follow-up-email")
    assert found.severity is Severity.WARN
    assert found.details == [
        {
            "previous_emails": ["2025-03-05T15:00:00Z"],
            "check_in_opens_at": "2025-03-11T14:00:00Z",
        }
    ]


def test_the_first_follow_up_email_is_fine() -> None:
    assert "one-follow-up-email" not in rule_ids(run(attempt(EMAIL, T + 2 * DAY)))


def test_an_email_before_the_interview_ended_does_not_count() -> None:
    before = attempt(EMAIL, T - DAY)
    assert "one-follow-up-email" not in rule_ids(run(attempt(EMAIL, T + 2 * DAY), before))


def test_only_earlier_emails_to_the_employer_count() -> None:
    call = attempt(CALL, T + DAY + HOUR)
    referee_email = attempt(EMAIL, T + DAY + HOUR, contact=REFEREE)
    evaluation = run(attempt(EMAIL, T + 2 * DAY), call, referee_email)
    assert "one-follow-up-email" not in rule_ids(evaluation)


def test_a_second_email_is_fine_once_the_check_in_window_opens() -> None:
    opens = T + WEEK
    assert "one-follow-up-email" in rule_ids(run(attempt(EMAIL, opens - SECOND), FOLLOW_UP))
    assert "one-follow-up-email" not in rule_ids(run(attempt(EMAIL, opens), FOLLOW_UP))


def test_emailing_a_referee_twice_is_fine() -> None:
    first = attempt(EMAIL, T + DAY + HOUR, contact=REFEREE)
    evaluation = run(attempt(EMAIL, T + 2 * DAY, contact=REFEREE), first)
    assert "one-follow-up-email" not in rule_ids(evaluation)


# --- multiple-voicemails -----------------------------------------------------------------

MONDAY_VOICEMAIL = attempt(VOICEMAIL, datetime(2025, 3, 10, 10, 0, tzinfo=UTC))


def test_a_second_voicemail_within_a_week_is_blocked() -> None:
    later = MONDAY_VOICEMAIL.occurred_at + 2 * DAY
    evaluation = run(attempt(VOICEMAIL, later), MONDAY_VOICEMAIL)
    found = finding(evaluation, "multiple-voicemails")
    assert found.severity is Severity.BLOCK
    assert "2 d" in found.message
    assert found.details == [
        {
            "previous_voicemails": ["2025-03-10T10:00:00Z"],
            "next_allowed_at": "2025-03-17T10:00:00Z",
        }
    ]


def test_a_voicemail_seven_days_minus_a_second_later_is_blocked() -> None:
    later = MONDAY_VOICEMAIL.occurred_at + WEEK - SECOND
    assert "multiple-voicemails" in rule_ids(run(attempt(VOICEMAIL, later), MONDAY_VOICEMAIL))


def test_a_voicemail_exactly_seven_days_later_is_allowed() -> None:
    later = MONDAY_VOICEMAIL.occurred_at + WEEK
    assert "multiple-voicemails" not in rule_ids(run(attempt(VOICEMAIL, later), MONDAY_VOICEMAIL))


def test_a_voicemail_after_a_call_is_not_a_second_voicemail() -> None:
    call = replace(MONDAY_VOICEMAIL, channel=CALL)
    later = MONDAY_VOICEMAIL.occurred_at + DAY
    assert "multiple-voicemails" not in rule_ids(run(attempt(VOICEMAIL, later), call))


def test_voicemails_to_referees_are_not_limited() -> None:
    first = attempt(VOICEMAIL, MONDAY_VOICEMAIL.occurred_at, contact=REFEREE)
    second = attempt(VOICEMAIL, MONDAY_VOICEMAIL.occurred_at + DAY, contact=REFEREE)
    evaluation = run(second, first)
    assert evaluation.verdict is not Verdict.REJECTED
    assert "multiple-voicemails" not in rule_ids(evaluation)


def test_a_referee_voicemail_does_not_count_against_the_employer() -> None:
    first = attempt(VOICEMAIL, MONDAY_VOICEMAIL.occurred_at, contact=REFEREE)
    evaluation = run(attempt(VOICEMAIL, MONDAY_VOICEMAIL.occurred_at + DAY), first)
    assert "multiple-voicemails" not in rule_ids(evaluation)


def test_the_employer_leaving_a_voicemail_does_not_count() -> None:
    theirs = replace(MONDAY_VOICEMAIL, direction=Direction.INBOUND)
    evaluation = run(attempt(VOICEMAIL, MONDAY_VOICEMAIL.occurred_at + DAY), theirs)
    assert "multiple-voicemails" not in rule_ids(evaluation)


# --- weekly-contact-limit ------------------------------------------------------------------

START = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)
"""After the check-in window opened, so only the weekly limit applies to calls."""


def test_a_third_employer_contact_within_seven_days_is_blocked() -> None:
    first, second = attempt(EMAIL, START), attempt(CALL, START + DAY, contact=MANAGER)
    evaluation = run(attempt(CALL, START + 2 * DAY), first, second)
    found = finding(evaluation, "weekly-contact-limit")
    assert found.severity is Severity.BLOCK
    assert "contact 3" in found.message
    assert "limit is 2" in found.message
    assert found.details == [
        {
            "count": 3,
            "limit": 2,
            "earlier_contacts": ["2025-03-12T10:00:00Z", "2025-03-13T10:00:00Z"],
            "next_allowed_at": "2025-03-19T10:00:00Z",
        }
    ]


def test_two_contacts_within_seven_days_are_within_the_limit() -> None:
    evaluation = run(attempt(CALL, START + DAY), attempt(EMAIL, START))
    assert "weekly-contact-limit" not in rule_ids(evaluation)


def test_a_contact_seven_days_minus_a_second_earlier_still_counts() -> None:
    stored = attempt(EMAIL, START), attempt(CALL, START + DAY)
    evaluation = run(attempt(CALL, START + WEEK - SECOND), *stored)
    assert "weekly-contact-limit" in rule_ids(evaluation)


def test_a_contact_exactly_seven_days_earlier_no_longer_counts() -> None:
    stored = attempt(EMAIL, START), attempt(CALL, START + DAY)
    assert "weekly-contact-limit" not in rule_ids(run(attempt(CALL, START + WEEK), *stored))


def test_social_channels_do_not_count_towards_the_weekly_limit() -> None:
    socials = (
        attempt(Channel.SOCIAL_MESSAGE, START, body="Thank you!"),
        attempt(Channel.SOCIAL_CONNECTION, START + HOUR),
    )
    assert "weekly-contact-limit" not in rule_ids(run(attempt(CALL, START + DAY), *socials))
    emails = attempt(EMAIL, START), attempt(CALL, START + HOUR)
    social_now = attempt(Channel.SOCIAL_MESSAGE, START + DAY, body="Thank you!")
    assert "weekly-contact-limit" not in rule_ids(run(social_now, *emails))


def test_referee_contacts_are_ignored_by_the_weekly_limit() -> None:
    briefings = (
        attempt(CALL, START, contact=REFEREE),
        attempt(CALL, START + HOUR, contact=REFEREE),
    )
    assert "weekly-contact-limit" not in rule_ids(run(attempt(CALL, START + DAY), *briefings))
    employer = attempt(EMAIL, START), attempt(CALL, START + HOUR)
    evaluation = run(attempt(CALL, START + DAY, contact=REFEREE), *employer)
    assert "weekly-contact-limit" not in rule_ids(evaluation)


def test_inbound_contacts_do_not_count_towards_the_weekly_limit() -> None:
    inbound = (
        attempt(CALL, START, direction=Direction.INBOUND),
        attempt(EMAIL, START + HOUR, direction=Direction.INBOUND),
    )
    assert "weekly-contact-limit" not in rule_ids(run(attempt(CALL, START + DAY), *inbound))


def test_the_weekly_limit_comes_from_the_settings() -> None:
    settings = replace(DEFAULT_SETTINGS, weekly_limit=3)
    stored = [attempt(CALL, START + n * HOUR) for n in range(2)]
    third = run(attempt(CALL, START + DAY), *stored, settings=settings)
    assert "weekly-contact-limit" not in rule_ids(third)
    stored.append(attempt(CALL, START + DAY))
    fourth = run(attempt(CALL, START + 2 * DAY), *stored, settings=settings)
    assert finding(fourth, "weekly-contact-limit").details == [
        {
            "count": 4,
            "limit": 3,
            "earlier_contacts": [
                "2025-03-12T10:00:00Z",
                "2025-03-12T11:00:00Z",
                "2025-03-13T10:00:00Z",
            ],
            "next_allowed_at": "2025-03-19T10:00:00Z",
        }
    ]


# --- no-social-connection ------------------------------------------------------------------


@pytest.mark.parametrize("channel", [Channel.SOCIAL_CONNECTION, Channel.SOCIAL_MESSAGE])
def test_adding_the_recruiter_on_social_media_while_pending_is_blocked(channel: Channel) -> None:
    evaluation = run(attempt(channel, T + 2 * DAY, body="Great to meet you."))
    found = finding(evaluation, "no-social-connection")
    assert found.severity is Severity.BLOCK
    assert "on LinkedIn" in found.message
    assert "Priya Raghunathan" in found.message


def test_a_social_connection_without_a_contact_is_blocked() -> None:
    evaluation = run(attempt(Channel.SOCIAL_CONNECTION, T + 2 * DAY, contact=None))
    assert finding(evaluation, "no-social-connection").severity is Severity.BLOCK


def test_connecting_with_a_referee_is_fine() -> None:
    evaluation = run(attempt(Channel.SOCIAL_CONNECTION, T + 2 * DAY, contact=REFEREE))
    assert "no-social-connection" not in rule_ids(evaluation)
    assert evaluation.verdict is Verdict.ALLOWED


def test_an_allowed_platform_is_flagged_instead_of_blocked_while_pending() -> None:
    settings = replace(DEFAULT_SETTINGS, allowed_platforms=frozenset({Platform.LINKEDIN}))
    linkedin = run(attempt(Channel.SOCIAL_CONNECTION, T + 2 * DAY), settings=settings)
    assert finding(linkedin, "no-social-connection").severity is Severity.WARN
    assert linkedin.verdict is Verdict.FLAGGED
    facebook = attempt(Channel.SOCIAL_CONNECTION, T + 2 * DAY, platform=Platform.FACEBOOK)
    assert finding(run(facebook, settings=settings), "no-social-connection").severity is (
        Severity.BLOCK
    )


def test_an_allowed_platform_does_not_soften_a_configured_block_after_the_decision() -> None:
    settings = replace(
        with_rule("no-social-connection", severity_after_decision=Severity.BLOCK),
        allowed_platforms=frozenset({Platform.LINKEDIN}),
    )
    interview = decided(Decision.OFFER, T + 3 * DAY)
    evaluation = run(
        attempt(Channel.SOCIAL_CONNECTION, T + 4 * DAY), interview=interview, settings=settings
    )
    assert finding(evaluation, "no-social-connection").severity is Severity.BLOCK


@pytest.mark.parametrize(
    ("offset", "severity"),
    [(-SECOND, Severity.BLOCK), (timedelta(0), Severity.WARN), (DAY, Severity.WARN)],
)
def test_social_connection_severity_depends_on_the_decision_time(
    offset: timedelta, severity: Severity
) -> None:
    decided_at = T + 3 * DAY
    interview = decided(Decision.HIRED, decided_at)
    evaluation = run(attempt(Channel.SOCIAL_CONNECTION, decided_at + offset), interview=interview)
    assert finding(evaluation, "no-social-connection").severity is severity


def test_a_pending_decision_keeps_the_pending_severity_even_much_later() -> None:
    evaluation = run(attempt(Channel.SOCIAL_CONNECTION, T + 60 * DAY))
    assert finding(evaluation, "no-social-connection").severity is Severity.BLOCK


# --- no-public-post ------------------------------------------------------------------------


def test_posting_about_the_interview_while_pending_is_blocked() -> None:
    evaluation = run(attempt(Channel.PUBLIC_POST, T + DAY, contact=None))
    assert finding(evaluation, "no-public-post").severity is Severity.BLOCK
    assert evaluation.verdict is Verdict.REJECTED


def test_posting_after_the_decision_is_only_information() -> None:
    interview = decided(Decision.OFFER, T + 3 * DAY)
    evaluation = run(attempt(Channel.PUBLIC_POST, T + 3 * DAY, contact=None), interview=interview)
    assert rule_ids(evaluation) == ["no-public-post"]
    assert evaluation.findings[0].severity is Severity.INFO
    assert evaluation.verdict is Verdict.ALLOWED


def test_posting_just_before_the_decision_is_still_blocked() -> None:
    interview = decided(Decision.OFFER, T + 3 * DAY)
    post = attempt(Channel.PUBLIC_POST, T + 3 * DAY - SECOND, contact=None)
    assert finding(run(post, interview=interview), "no-public-post").severity is Severity.BLOCK


def test_a_post_mentioning_the_company_role_or_a_contact_is_blocked() -> None:
    for text in (
        "Lovely afternoon at Zentrovia Labs.",
        "Thinking about what a senior backend engineer does all day.",
        "Coffee with Priya Raghunathan this morning!",
        "Big news soon #Zentrovia",
    ):
        post = attempt(Channel.PUBLIC_POST, T + DAY, contact=None, body=text)
        found = finding(run(post), "no-public-post")
        assert found.severity is Severity.BLOCK, text
        assert found.details is not None and found.details[0]["about_the_search"] is True


def test_a_post_using_a_search_word_is_blocked() -> None:
    post = attempt(Channel.PUBLIC_POST, T + DAY, contact=None, body="Fingers crossed for the offer")
    found = finding(run(post), "no-public-post")
    assert found.severity is Severity.BLOCK
    assert found.details == [
        {"platform": "linkedin", "about_the_search": True, "mentions": ["offer"]}
    ]
    assert '"offer"' in found.message


def test_a_post_whose_subject_mentions_the_interview_is_blocked() -> None:
    post = attempt(
        Channel.PUBLIC_POST, T + DAY, contact=None, subject="Interview day", body="Sunny out."
    )
    assert finding(run(post), "no-public-post").severity is Severity.BLOCK


def test_a_post_with_no_text_is_blocked() -> None:
    for body in (None, "", "   \n"):
        post = attempt(Channel.PUBLIC_POST, T + DAY, contact=None, body=body)
        found = finding(run(post), "no-public-post")
        assert found.severity is Severity.BLOCK
        assert "no text" in found.message


def test_an_unrelated_post_gets_an_information_finding() -> None:
    post = attempt(
        Channel.PUBLIC_POST, T + DAY, contact=None, body="Ran my first half marathon today!"
    )
    evaluation = run(post)
    found = finding(evaluation, "no-public-post")
    assert found.severity is Severity.INFO
    assert "judged unrelated" in found.message
    assert found.details == [{"platform": "linkedin", "about_the_search": False, "mentions": []}]
    assert evaluation.verdict is Verdict.ALLOWED


def test_an_unrelated_post_stays_information_whatever_the_configured_severity() -> None:
    post = attempt(Channel.PUBLIC_POST, T + DAY, contact=None, body="Ran a half marathon!")
    settings = with_rule("no-public-post", severity=Severity.BLOCK)
    assert finding(run(post, settings=settings), "no-public-post").severity is Severity.INFO
    disabled = with_rule("no-public-post", enabled=False)
    assert "no-public-post" not in rule_ids(run(post, settings=disabled))


def test_a_null_severity_after_decision_keeps_the_pending_severity() -> None:
    rule = {"enabled": True, "severity": "warn", "severity_after_decision": None}
    settings = settings_from_document({"rules": {"no-public-post": rule}})
    interview = decided(Decision.REJECTED, T + 3 * DAY)
    post = attempt(Channel.PUBLIC_POST, T + 4 * DAY, contact=None)
    found = finding(run(post, interview=interview, settings=settings), "no-public-post")
    assert found.severity is Severity.WARN


# --- after-decision --------------------------------------------------------------------------


@pytest.mark.parametrize("decision", [Decision.REJECTED, Decision.WITHDRAWN, Decision.CANCELLED])
def test_contacting_the_employer_again_after_a_closing_decision_is_flagged(
    decision: Decision,
) -> None:
    decided_at = T + 5 * DAY
    courtesy = attempt(EMAIL, decided_at)
    evaluation = run(
        attempt(EMAIL, decided_at + DAY), courtesy, interview=decided(decision, decided_at)
    )
    found = finding(evaluation, "after-decision")
    assert found.severity is Severity.WARN
    assert decision.value in found.message
    assert found.details == [
        {
            "decision": decision.value,
            "decided_at": "2025-03-09T14:00:00Z",
            "contacts_since_decision": ["2025-03-09T14:00:00Z"],
        }
    ]


@pytest.mark.parametrize("decision", [Decision.OFFER, Decision.HIRED])
def test_contact_after_an_offer_is_fine(decision: Decision) -> None:
    evaluation = run(attempt(EMAIL, T + 6 * DAY), interview=decided(decision, T + 5 * DAY))
    assert "after-decision" not in rule_ids(evaluation)


def test_contact_before_the_rejection_was_recorded_is_fine() -> None:
    interview = decided(Decision.REJECTED, T + 5 * DAY)
    evaluation = run(attempt(EMAIL, T + 5 * DAY - SECOND), interview=interview)
    assert "after-decision" not in rule_ids(evaluation)


def test_briefing_a_referee_after_a_rejection_is_fine() -> None:
    interview = decided(Decision.REJECTED, T + 5 * DAY)
    evaluation = run(attempt(EMAIL, T + 6 * DAY, contact=REFEREE), interview=interview)
    assert "after-decision" not in rule_ids(evaluation)


def test_a_decision_without_a_recorded_time_counts_as_made() -> None:
    interview = replace(INTERVIEW, decision=Decision.REJECTED, decided_at=None)
    courtesy = attempt(EMAIL, T + DAY)
    evaluation = run(attempt(EMAIL, T + 2 * DAY), courtesy, interview=interview)
    assert "after-decision" in rule_ids(evaluation)


@pytest.mark.parametrize("decision", [Decision.REJECTED, Decision.WITHDRAWN, Decision.CANCELLED])
def test_the_first_note_after_a_closing_decision_is_a_courtesy(decision: Decision) -> None:
    decided_at = T + 5 * DAY
    before = attempt(EMAIL, decided_at - SECOND)
    evaluation = run(
        attempt(EMAIL, decided_at + HOUR), before, interview=decided(decision, decided_at)
    )
    assert "after-decision" not in rule_ids(evaluation)


def test_the_third_note_after_a_rejection_counts_both_earlier_ones() -> None:
    decided_at = T + 5 * DAY
    notes = attempt(EMAIL, decided_at), attempt(CALL, decided_at + DAY, contact=MANAGER)
    interview = decided(Decision.REJECTED, decided_at)
    found = finding(
        run(attempt(EMAIL, decided_at + 2 * DAY), *notes, interview=interview), "after-decision"
    )
    assert "contact number 3" in found.message


def test_a_referee_briefing_after_a_rejection_is_not_the_courtesy_note() -> None:
    decided_at = T + 5 * DAY
    briefing = attempt(EMAIL, decided_at + HOUR, contact=REFEREE)
    interview = decided(Decision.REJECTED, decided_at)
    assert "after-decision" not in rule_ids(
        run(attempt(EMAIL, decided_at + DAY), briefing, interview=interview)
    )


@pytest.mark.parametrize("decision", [Decision.OFFER, Decision.HIRED])
def test_negotiating_an_offer_is_not_chasing(decision: Decision) -> None:
    interview = decided(decision, T)
    stored = (
        attempt(EMAIL, T + HOUR / 2),
        attempt(VOICEMAIL, T + HOUR),
        attempt(CALL, T + 3 * HOUR / 2),
    )
    chasing = {"wait-24-hours", "weekly-contact-limit"}
    while_pending = {
        EMAIL: chasing | {"one-follow-up-email"},
        CALL: chasing | {"no-repeat-calls"},
        VOICEMAIL: chasing | {"no-repeat-calls", "multiple-voicemails"},
        TEXT: chasing | {"no-repeat-calls"},
    }
    for channel, rules in while_pending.items():
        evaluation = run(attempt(channel, T + 2 * HOUR), *stored, interview=interview)
        assert evaluation.findings == (), channel
        assert set(rule_ids(run(attempt(channel, T + 2 * HOUR), *stored))) == rules, channel


def test_contact_before_the_offer_was_made_is_still_held_back() -> None:
    interview = decided(Decision.OFFER, T + 3 * HOUR)
    evaluation = run(attempt(EMAIL, T + 2 * HOUR), interview=interview)
    assert "wait-24-hours" in rule_ids(evaluation)


# --- quiet-hours ---------------------------------------------------------------------------

THURSDAY = datetime(2025, 3, 6, tzinfo=UTC)  # London is on GMT (UTC+0) in early March


@pytest.mark.parametrize(
    ("clock", "quiet"),
    [
        (time(7, 59, 59), True),
        (time(8, 0), False),
        (time(17, 59, 59), False),
        (time(18, 0), True),
        (time(3, 0), True),
    ],
)
def test_calls_outside_calling_hours_are_flagged(clock: time, quiet: bool) -> None:
    evaluation = run(attempt(CALL, datetime.combine(THURSDAY.date(), clock, tzinfo=UTC)))
    assert ("quiet-hours" in rule_ids(evaluation)) is quiet


def test_weekend_calls_are_flagged() -> None:
    saturday_noon = datetime(2025, 3, 8, 12, 0, tzinfo=UTC)
    found = finding(run(attempt(CALL, saturday_noon)), "quiet-hours")
    assert found.severity is Severity.WARN
    assert "Saturday" in found.message
    assert "12:00" in found.message
    assert "Europe/London" in found.message


def test_calling_hours_use_the_contacts_time_zone() -> None:
    evening_in_london = datetime(2025, 3, 4, 21, 30, tzinfo=UTC)  # 16:30 in New York
    assert "quiet-hours" in rule_ids(run(attempt(CALL, evening_in_london, contact=RECRUITER)))
    in_new_york = run(attempt(CALL, evening_in_london, contact=MANAGER))
    assert "quiet-hours" not in rule_ids(in_new_york)


def test_calling_hours_follow_daylight_saving_time() -> None:
    # New York moves from EST (UTC-5) to EDT (UTC-4) on Sunday 2025-03-09.
    friday = datetime(2025, 3, 7, 12, 30, tzinfo=UTC)  # 07:30 EST: too early
    monday = datetime(2025, 3, 10, 12, 30, tzinfo=UTC)  # 08:30 EDT: fine
    assert "quiet-hours" in rule_ids(run(attempt(TEXT, friday, contact=MANAGER)))
    assert "quiet-hours" not in rule_ids(run(attempt(TEXT, monday, contact=MANAGER)))


def test_without_a_contact_the_interviews_time_zone_is_used() -> None:
    interview = replace(INTERVIEW, timezone="Asia/Tokyo")
    tokyo_morning = datetime(2025, 3, 5, 1, 0, tzinfo=UTC)  # Wednesday 10:00 in Tokyo
    assert "quiet-hours" not in rule_ids(
        run(attempt(CALL, tokyo_morning, contact=None), interview=interview)
    )
    assert "quiet-hours" in rule_ids(run(attempt(CALL, tokyo_morning, contact=None)))


def test_quiet_hours_apply_to_referees_but_never_block_them() -> None:
    night = datetime(2025, 3, 5, 23, 0, tzinfo=UTC)
    settings = with_rule("quiet-hours", severity=Severity.BLOCK)
    to_referee = run(attempt(CALL, night, contact=REFEREE), settings=settings)
    assert finding(to_referee, "quiet-hours").severity is Severity.WARN
    to_employer = run(attempt(CALL, night), settings=settings)
    assert finding(to_employer, "quiet-hours").severity is Severity.BLOCK


def test_emails_are_welcome_at_any_hour() -> None:
    night = datetime(2025, 3, 8, 3, 0, tzinfo=UTC)
    assert "quiet-hours" not in rule_ids(run(attempt(EMAIL, night)))


def test_calling_hours_come_from_the_settings() -> None:
    hours = CallingHours(start=time(10, 0), end=time(12, 0), days=frozenset({5}))
    settings = replace(DEFAULT_SETTINGS, calling_hours=hours)
    saturday = datetime(2025, 3, 8, 11, 0, tzinfo=UTC)
    tuesday = datetime(2025, 3, 4, 11, 0, tzinfo=UTC)
    assert "quiet-hours" not in rule_ids(run(attempt(CALL, saturday), settings=settings))
    assert "quiet-hours" in rule_ids(run(attempt(CALL, tuesday), settings=settings))


# --- settings, protection and ordering ------------------------------------------------------


def test_a_disabled_rule_never_fires() -> None:
    stored = attempt(EMAIL, START), attempt(CALL, START + DAY)
    third = attempt(CALL, START + 2 * DAY)
    assert "weekly-contact-limit" in rule_ids(run(third, *stored))
    settings = with_rule("weekly-contact-limit", enabled=False)
    evaluation = run(third, *stored, settings=settings)
    assert "weekly-contact-limit" not in rule_ids(evaluation)
    assert evaluation.verdict is Verdict.ALLOWED


def test_the_configured_severity_replaces_the_default() -> None:
    settings = with_rule("wait-24-hours", severity=Severity.BLOCK)
    evaluation = run(attempt(EMAIL, T + HOUR), settings=settings)
    assert finding(evaluation, "wait-24-hours").severity is Severity.BLOCK
    assert evaluation.verdict is Verdict.REJECTED
    info = with_rule("wait-24-hours", severity=Severity.INFO)
    assert run(attempt(EMAIL, T + HOUR), settings=info).verdict is Verdict.ALLOWED


def test_inbound_attempts_are_never_blocked() -> None:
    night_call = attempt(CALL, datetime(2025, 3, 8, 3, 0, tzinfo=UTC), direction=Direction.INBOUND)
    evaluation = run(night_call, FOLLOW_UP, settings=everything_blocks())
    assert evaluation.verdict is Verdict.ALLOWED
    assert evaluation.findings == ()


def test_referee_attempts_are_never_blocked_even_when_every_rule_blocks() -> None:
    sloppy = attempt(
        TEXT,
        datetime(2025, 3, 8, 3, 0, tzinfo=UTC),
        contact=REFEREE,
        body="Thnaks for the the help",
    )
    evaluation = run(sloppy, settings=everything_blocks())
    assert rule_ids(evaluation) == ["proofread", "quiet-hours"]
    assert {f.severity for f in evaluation.findings} == {Severity.WARN}
    assert evaluation.verdict is Verdict.FLAGGED


def test_findings_are_ordered_by_severity_then_rule_order() -> None:
    settings = with_rule("wait-24-hours", severity=Severity.INFO)
    stored = attempt(EMAIL, T + HOUR), attempt(EMAIL, T + 2 * HOUR)
    # A midnight call the night after the interview, after two emails.
    early = run(attempt(CALL, T + 10 * HOUR), *stored, settings=settings)
    assert rule_ids(early) == [
        "no-repeat-calls",
        "weekly-contact-limit",
        "quiet-hours",
        "wait-24-hours",
    ]
    assert [f.severity.value for f in early.findings] == ["block", "block", "warn", "info"]


def test_finding_has_the_contract_shape() -> None:
    found = finding(run(attempt(EMAIL, T + HOUR)), "wait-24-hours")
    as_json = FindingRead.model_validate(found).model_dump(mode="json")
    assert list(as_json) == ["rule", "severity", "message", "advice", "details"]
    assert as_json["rule"] == "wait-24-hours"
    assert as_json["severity"] == "warn"
    post = run(attempt(Channel.PUBLIC_POST, T + DAY, contact=None))
    plain = replace(finding(post, "no-public-post"), details=None)
    assert FindingRead.model_validate(plain).model_dump(mode="json")["details"] is None


def test_evaluation_lists_findings_in_order() -> None:
    evaluation = run(attempt(EMAIL, T + HOUR))
    assert EvaluationRead.model_validate(evaluation).model_dump(mode="json") == {
        "verdict": "flagged",
        "findings": [
            FindingRead.model_validate(f).model_dump(mode="json") for f in evaluation.findings
        ],
        "reply_to": None,
    }
