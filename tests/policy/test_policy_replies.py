"""Replies (contract sections 5 and 6, v2): which attempts are replies, and what the
rules leave alone because of it."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.enums import Channel, Decision, Direction, Platform, Severity, Verdict
from app.policy import DEFAULT_SETTINGS, answered_inbound, in_reply_to_problem
from app.policy.model import AttemptFacts
from tests.policy.policy_factories import (
    CONTACTS,
    DAY,
    HOUR,
    MANAGER,
    RECRUITER,
    REFEREE,
    SECOND,
    T,
    attempt,
    decided,
    finding,
    rule_ids,
    run,
    with_rule,
)

CALL = Channel.PHONE_CALL
VOICEMAIL = Channel.VOICEMAIL
EMAIL = Channel.EMAIL
INBOUND = Direction.INBOUND
WINDOW = timedelta(hours=72)
CONTACT_MAP = {contact.id: contact for contact in CONTACTS}

START = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)
"""A Wednesday after the check-in window opened (calls there are within calling hours)."""


def answered(evaluated: AttemptFacts, *stored: AttemptFacts, window: timedelta = WINDOW) -> str:
    found = answered_inbound(evaluated, stored, CONTACT_MAP, window)
    return found.id or "" if found is not None else "none"


# --- which attempts are replies ----------------------------------------------------------


def test_returning_the_recruiters_call_within_the_reply_window_is_a_reply() -> None:
    missed = attempt(CALL, START, direction=INBOUND)
    assert answered(attempt(CALL, START + HOUR), missed) == missed.id


def test_an_inbound_attempt_exactly_a_reply_window_earlier_is_too_old() -> None:
    missed = attempt(CALL, START, direction=INBOUND)
    assert answered(attempt(CALL, START + WINDOW - SECOND), missed) == missed.id
    assert answered(attempt(CALL, START + WINDOW), missed) == "none"


def test_an_inbound_attempt_at_the_same_instant_is_not_earlier() -> None:
    missed = attempt(CALL, START, direction=INBOUND)
    assert answered(attempt(CALL, START), missed) == "none"


def test_writing_to_someone_else_is_not_a_reply() -> None:
    missed = attempt(CALL, START, direction=INBOUND, contact=RECRUITER)
    assert answered(attempt(CALL, START + HOUR, contact=MANAGER), missed) == "none"


def test_an_inbound_attempt_with_no_contact_is_answered_by_any_employer_contact() -> None:
    anonymous = attempt(CALL, START, direction=INBOUND, contact=None)
    assert answered(attempt(EMAIL, START + HOUR, contact=MANAGER), anonymous) == anonymous.id
    assert answered(attempt(EMAIL, START + HOUR, contact=REFEREE), anonymous) == "none"


def test_an_attempt_with_no_contact_answers_the_employers_people() -> None:
    from_recruiter = attempt(CALL, START, direction=INBOUND, contact=RECRUITER)
    from_referee = attempt(CALL, START, direction=INBOUND, contact=REFEREE)
    assert answered(attempt(CALL, START + HOUR, contact=None), from_recruiter) == from_recruiter.id
    assert answered(attempt(CALL, START + HOUR, contact=None), from_referee) == "none"


def test_an_inbound_attempt_is_answered_once() -> None:
    missed = attempt(CALL, START, direction=INBOUND)
    returned = attempt(CALL, START + HOUR, reply_to=missed.id)
    assert answered(attempt(EMAIL, START + 2 * HOUR), missed, returned) == "none"


def test_any_later_attempt_to_that_person_answers_an_inbound_attempt() -> None:
    missed = attempt(CALL, START, direction=INBOUND)
    unflagged = attempt(EMAIL, START + HOUR)  # stored while replies were explicit only
    assert answered(attempt(CALL, START + 2 * HOUR), missed, unflagged) == "none"


def test_a_new_inbound_attempt_opens_a_new_reply() -> None:
    first = attempt(CALL, START, direction=INBOUND)
    returned = attempt(CALL, START + HOUR, reply_to=first.id)
    second = attempt(EMAIL, START + DAY, direction=INBOUND)
    assert answered(attempt(EMAIL, START + DAY + HOUR), first, returned, second) == second.id


def test_the_latest_unanswered_inbound_attempt_is_the_one_answered() -> None:
    older = attempt(EMAIL, START, direction=INBOUND)
    newer = attempt(CALL, START + HOUR, direction=INBOUND)
    assert answered(attempt(CALL, START + 2 * HOUR), newer, older) == newer.id


def test_an_inbound_attempt_on_the_replys_own_platform_is_preferred() -> None:
    on_linkedin = attempt(
        Channel.SOCIAL_MESSAGE, START, direction=INBOUND, platform=Platform.LINKEDIN
    )
    by_email = attempt(EMAIL, START + HOUR, direction=INBOUND)
    message = attempt(Channel.SOCIAL_MESSAGE, START + 2 * HOUR, platform=Platform.LINKEDIN)
    assert answered(message, on_linkedin, by_email) == on_linkedin.id


def test_a_zero_reply_window_leaves_only_explicit_replies() -> None:
    missed = attempt(CALL, START, direction=INBOUND)
    assert answered(attempt(CALL, START + SECOND), missed, window=timedelta(0)) == "none"
    explicit = attempt(CALL, START + SECOND, in_reply_to=missed.id)
    assert answered(explicit, missed, window=timedelta(0)) == missed.id


def test_in_reply_to_names_the_attempt_answered_whatever_its_age_or_sender() -> None:
    old = attempt(EMAIL, START - 30 * DAY, direction=INBOUND, contact=MANAGER)
    newer = attempt(CALL, START, direction=INBOUND)
    explicit = attempt(EMAIL, START + HOUR, in_reply_to=old.id)
    assert answered(explicit, old, newer) == old.id


def test_inbound_attempts_and_public_posts_are_never_replies() -> None:
    missed = attempt(CALL, START, direction=INBOUND, contact=None)
    assert answered(attempt(CALL, START + HOUR, direction=INBOUND), missed) == "none"
    post = attempt(Channel.PUBLIC_POST, START + HOUR, contact=None, body="Lovely day")
    assert answered(post, missed) == "none"


def test_in_reply_to_must_name_an_earlier_inbound_attempt_of_the_interview() -> None:
    inbound = attempt(CALL, START, direction=INBOUND)
    outbound = attempt(EMAIL, START - HOUR)
    stored = [inbound, outbound]
    ok = attempt(EMAIL, START + HOUR, in_reply_to=inbound.id)
    assert in_reply_to_problem(ok, stored) is None
    assert in_reply_to_problem(attempt(EMAIL, START + HOUR), stored) is None
    unknown = in_reply_to_problem(replace(ok, in_reply_to="att-nowhere"), stored)
    assert unknown == "in_reply_to 'att-nowhere' is not a contact attempt of this interview."
    to_outbound = in_reply_to_problem(replace(ok, in_reply_to=outbound.id), stored)
    assert to_outbound is not None and "must name an inbound attempt" in to_outbound
    too_early = in_reply_to_problem(replace(ok, occurred_at=START), stored)
    assert too_early is not None and "must name an earlier attempt" in too_early
    assert "2025-03-12T10:00:00Z" in too_early


def test_evaluations_carry_the_id_of_the_attempt_answered() -> None:
    missed = attempt(CALL, START, direction=INBOUND)
    assert run(attempt(CALL, START + HOUR), missed).reply_to == missed.id
    assert run(attempt(CALL, START + HOUR)).reply_to is None


def test_the_reply_window_comes_from_the_settings() -> None:
    missed = attempt(CALL, START, direction=INBOUND)
    later = attempt(CALL, START + 4 * DAY)
    assert run(later, missed).reply_to is None
    settings = replace(DEFAULT_SETTINGS, reply_window=timedelta(days=5))
    assert run(later, missed, settings=settings).reply_to == missed.id


# --- replies are not chasing ---------------------------------------------------------------

FOLLOW_UP = attempt(EMAIL, T + DAY + HOUR)


def test_answering_the_recruiters_email_the_same_hour_has_no_wait_24_hours_finding() -> None:
    theirs = attempt(EMAIL, T + HOUR, direction=INBOUND)
    evaluation = run(attempt(EMAIL, T + 2 * HOUR), theirs)
    assert evaluation.reply_to == theirs.id
    assert evaluation.findings == ()
    assert "wait-24-hours" in rule_ids(run(attempt(EMAIL, T + 2 * HOUR)))


def test_returning_a_missed_call_after_the_follow_up_is_not_a_repeat_call() -> None:
    missed = attempt(CALL, T + 2 * DAY, direction=INBOUND)
    evaluation = run(attempt(CALL, T + 2 * DAY + HOUR), FOLLOW_UP, missed)
    assert "no-repeat-calls" not in rule_ids(evaluation)
    assert evaluation.verdict is Verdict.ALLOWED


def test_answering_an_email_after_the_follow_up_is_not_a_second_follow_up_email() -> None:
    theirs = attempt(EMAIL, T + 2 * DAY, direction=INBOUND)
    evaluation = run(attempt(EMAIL, T + 2 * DAY + HOUR), FOLLOW_UP, theirs)
    assert "one-follow-up-email" not in rule_ids(evaluation)


def test_a_voicemail_returning_their_call_is_not_a_second_voicemail() -> None:
    mine = attempt(VOICEMAIL, START)
    theirs = attempt(VOICEMAIL, START + DAY, direction=INBOUND)
    evaluation = run(attempt(VOICEMAIL, START + DAY + HOUR), mine, theirs)
    assert "multiple-voicemails" not in rule_ids(evaluation)
    assert "multiple-voicemails" in rule_ids(run(attempt(VOICEMAIL, START + DAY + HOUR), mine))


def test_a_reply_is_not_held_to_the_weekly_limit() -> None:
    stored = attempt(EMAIL, START), attempt(CALL, START + DAY)
    theirs = attempt(EMAIL, START + 2 * DAY, direction=INBOUND)
    evaluation = run(attempt(EMAIL, START + 2 * DAY + HOUR), *stored, theirs)
    assert "weekly-contact-limit" not in rule_ids(evaluation)
    assert "weekly-contact-limit" in rule_ids(run(attempt(EMAIL, START + 2 * DAY + HOUR), *stored))


def test_answering_them_after_a_rejection_has_no_after_decision_finding() -> None:
    interview = decided(Decision.REJECTED, START)
    courtesy = attempt(EMAIL, START + HOUR)
    theirs = attempt(EMAIL, START + DAY, direction=INBOUND)
    evaluation = run(attempt(EMAIL, START + DAY + HOUR), courtesy, theirs, interview=interview)
    assert "after-decision" not in rule_ids(evaluation)


@pytest.mark.parametrize(
    ("rule_id", "earlier", "evaluated"),
    [
        ("no-repeat-calls", [CALL], CALL),
        ("one-follow-up-email", [EMAIL], EMAIL),
        ("multiple-voicemails", [VOICEMAIL], VOICEMAIL),
        ("weekly-contact-limit", [CALL, EMAIL], CALL),
    ],
)
def test_stored_replies_are_not_counted_later(
    rule_id: str, earlier: list[Channel], evaluated: Channel
) -> None:
    """The same history fires the rule when the earlier attempts were not replies."""
    theirs = attempt(CALL, T + DAY + HOUR, direction=INBOUND)
    replies = [
        attempt(channel, T + DAY + (2 + index) * HOUR, reply_to=theirs.id)
        for index, channel in enumerate(earlier)
    ]
    later = attempt(evaluated, T + 2 * DAY)
    evaluation = run(later, theirs, *replies)
    assert evaluation.reply_to is None  # theirs was answered already
    assert rule_id not in rule_ids(evaluation)
    unflagged = [replace(reply, reply_to=None) for reply in replies]
    assert rule_id in rule_ids(run(later, theirs, *unflagged))


def test_a_reply_after_a_rejection_does_not_use_up_the_courtesy_note() -> None:
    interview = decided(Decision.REJECTED, START)
    theirs = attempt(EMAIL, START + HOUR, direction=INBOUND)
    answer = attempt(EMAIL, START + 2 * HOUR, reply_to=theirs.id)
    courtesy = attempt(EMAIL, START + DAY)
    assert "after-decision" not in rule_ids(run(courtesy, theirs, answer, interview=interview))
    unflagged = replace(answer, reply_to=None)
    assert "after-decision" in rule_ids(run(courtesy, theirs, unflagged, interview=interview))


def test_a_social_message_reply_on_their_platform_has_no_social_connection_finding() -> None:
    theirs = attempt(Channel.SOCIAL_MESSAGE, T + DAY, direction=INBOUND, platform=Platform.LINKEDIN)
    message = attempt(Channel.SOCIAL_MESSAGE, T + DAY + HOUR, platform=Platform.LINKEDIN)
    evaluation = run(message, theirs)
    assert evaluation.reply_to == theirs.id
    assert "no-social-connection" not in rule_ids(evaluation)


def test_a_social_message_reply_on_another_platform_is_still_blocked() -> None:
    theirs = attempt(Channel.SOCIAL_MESSAGE, T + DAY, direction=INBOUND, platform=Platform.LINKEDIN)
    message = attempt(Channel.SOCIAL_MESSAGE, T + DAY + HOUR, platform=Platform.FACEBOOK)
    found = finding(run(message, theirs), "no-social-connection")
    assert found.severity is Severity.BLOCK


def test_a_social_message_answering_an_email_is_still_blocked() -> None:
    theirs = attempt(EMAIL, T + DAY, direction=INBOUND)
    message = attempt(Channel.SOCIAL_MESSAGE, T + DAY + HOUR, platform=Platform.LINKEDIN)
    evaluation = run(message, theirs)
    assert evaluation.reply_to == theirs.id
    assert finding(evaluation, "no-social-connection").severity is Severity.BLOCK


def test_a_connection_request_in_reply_is_still_blocked() -> None:
    theirs = attempt(Channel.SOCIAL_MESSAGE, T + DAY, direction=INBOUND, platform=Platform.LINKEDIN)
    request = attempt(Channel.SOCIAL_CONNECTION, T + DAY + HOUR, platform=Platform.LINKEDIN)
    evaluation = run(request, theirs)
    assert evaluation.reply_to == theirs.id
    assert finding(evaluation, "no-social-connection").severity is Severity.BLOCK


def test_replies_are_still_proofread() -> None:
    theirs = attempt(EMAIL, T + HOUR, direction=INBOUND)
    sloppy = attempt(Channel.TEXT_MESSAGE, T + 2 * HOUR, body="Thnaks for the the call")
    evaluation = run(sloppy, theirs)
    assert evaluation.reply_to == theirs.id
    assert rule_ids(evaluation) == ["proofread"]


def test_replies_still_respect_quiet_hours() -> None:
    saturday_noon = datetime(2025, 3, 8, 12, 0, tzinfo=UTC)
    missed = attempt(CALL, saturday_noon - HOUR, direction=INBOUND)
    evaluation = run(attempt(CALL, saturday_noon), missed)
    assert evaluation.reply_to == missed.id
    assert rule_ids(evaluation) == ["quiet-hours"]


def test_a_reply_can_still_be_blocked_by_a_rule_that_applies_to_it() -> None:
    missed = attempt(CALL, datetime(2025, 3, 8, 11, 0, tzinfo=UTC), direction=INBOUND)
    settings = with_rule("quiet-hours", severity=Severity.BLOCK)
    evaluation = run(
        attempt(CALL, datetime(2025, 3, 8, 12, 0, tzinfo=UTC)), missed, settings=settings
    )
    assert evaluation.reply_to == missed.id
    assert evaluation.verdict is Verdict.REJECTED
