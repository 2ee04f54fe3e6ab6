"""Properties of the engine over generated interviews, attempts and settings."""

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.enums import SOCIAL_CHANNELS, Channel, Decision, Direction, Platform, Severity, Verdict
from app.policy import (
    DEFAULT_SETTINGS,
    RULE_IDS,
    RULES_BY_ID,
    AttemptFacts,
    Evaluation,
    InterviewFacts,
    PolicySettings,
    RuleSettings,
    evaluate,
)
from tests.policy.policy_factories import (
    CLEAN_EMAIL,
    INTERVIEW,
    MANAGER,
    RECRUITER,
    REFEREE,
    T,
    context,
    everything_blocks,
)

examples = settings(max_examples=60, deadline=None)

moments = st.integers(min_value=-24 * 60, max_value=10 * 24 * 60).map(
    lambda minutes: T + timedelta(minutes=minutes)
)
"""From a day before the interview ended to ten days after, so the rules' windows overlap."""
channels = st.sampled_from(
    [Channel.EMAIL, Channel.PHONE_CALL, Channel.VOICEMAIL]
) | st.sampled_from(Channel)
"""Every channel, with the rate-limited ones more often."""
bodies = st.sampled_from([None, CLEAN_EMAIL, "Thnaks for the the chat", "Any news?", ""])


@st.composite
def attempts(draw: st.DrawFn, direction: Direction | None = None) -> AttemptFacts:
    channel = draw(channels)
    contact = draw(st.sampled_from([None, RECRUITER, MANAGER, REFEREE]))
    return AttemptFacts(
        channel=channel,
        direction=direction or draw(st.sampled_from([*Direction, Direction.OUTBOUND])),
        occurred_at=draw(moments),
        contact_id=contact.id if contact else None,
        platform=draw(st.sampled_from(Platform)) if channel in SOCIAL_CHANNELS else None,
        subject=draw(st.sampled_from([None, "Thank you", "Folow-up"])),
        body=draw(bodies),
    )


@st.composite
def interviews(draw: st.DrawFn) -> InterviewFacts:
    decision = draw(st.sampled_from(Decision))
    decided_at = None if decision is Decision.PENDING else draw(moments)
    expected = draw(st.none() | moments)
    return replace(
        INTERVIEW, decision=decision, decided_at=decided_at, decision_expected_at=expected
    )


severities = st.sampled_from(Severity)
rule_settings = st.builds(RuleSettings, st.booleans(), severities, st.none() | severities)


@st.composite
def policy_settings(draw: st.DrawFn) -> PolicySettings:
    return replace(
        DEFAULT_SETTINGS,
        rules={rule_id: draw(rule_settings) for rule_id in RULE_IDS},
        weekly_limit=draw(st.integers(min_value=1, max_value=5)),
        thank_you_delay=timedelta(hours=draw(st.integers(min_value=0, max_value=48))),
        check_in_delay=timedelta(days=draw(st.integers(min_value=0, max_value=14))),
        allowed_platforms=frozenset(draw(st.sets(st.sampled_from(Platform)))),
    )


history = st.lists(attempts(), max_size=10)


def _run(
    attempt: AttemptFacts,
    stored: list[AttemptFacts],
    interview: InterviewFacts,
    policy: PolicySettings,
) -> Evaluation:
    return evaluate(attempt, context(*stored, interview=interview, settings=policy))


@examples
@given(attempts(), history, interviews(), policy_settings(), st.data())
def test_evaluation_is_deterministic_and_ignores_the_order_of_stored_attempts(
    attempt: AttemptFacts,
    stored: list[AttemptFacts],
    interview: InterviewFacts,
    policy: PolicySettings,
    data: st.DataObject,
) -> None:
    first = _run(attempt, stored, interview, policy)
    assert _run(attempt, stored, interview, policy) == first
    shuffled = data.draw(st.permutations(stored))
    assert _run(attempt, shuffled, interview, policy) == first


@examples
@given(attempts(Direction.OUTBOUND), history, attempts(Direction.INBOUND), interviews())
def test_hearing_back_never_turns_an_allowed_attempt_into_a_rejected_one(
    attempt: AttemptFacts,
    stored: list[AttemptFacts],
    inbound: AttemptFacts,
    interview: InterviewFacts,
) -> None:
    before = _run(attempt, stored, interview, DEFAULT_SETTINGS)
    after = _run(attempt, [*stored, inbound], interview, DEFAULT_SETTINGS)
    if before.verdict is Verdict.ALLOWED:
        assert after.verdict is not Verdict.REJECTED
    assert after == before  # stored inbound attempts play no part in any rule


@examples
@given(attempts(), history, interviews(), policy_settings())
def test_findings_are_sorted_and_the_verdict_follows_from_them(
    attempt: AttemptFacts,
    stored: list[AttemptFacts],
    interview: InterviewFacts,
    policy: PolicySettings,
) -> None:
    evaluation = _run(attempt, stored, interview, policy)
    keys = [(f.severity.rank, RULE_IDS.index(f.rule)) for f in evaluation.findings]
    assert keys == sorted(keys)
    assert len({f.rule for f in evaluation.findings}) == len(evaluation.findings)
    severities = {f.severity for f in evaluation.findings}
    if Severity.BLOCK in severities:
        assert evaluation.verdict is Verdict.REJECTED
    elif Severity.WARN in severities:
        assert evaluation.verdict is Verdict.FLAGGED
    else:
        assert evaluation.verdict is Verdict.ALLOWED
    for found in evaluation.findings:
        assert policy.rules[found.rule].enabled
        quote = RULES_BY_ID[found.rule].quote
        if quote is not None:
            assert quote in found.message + found.advice


@examples
@given(attempts(), history, interviews())
def test_inbound_and_referee_attempts_are_never_blocked(
    attempt: AttemptFacts, stored: list[AttemptFacts], interview: InterviewFacts
) -> None:
    evaluation = _run(attempt, stored, interview, everything_blocks())
    protected = attempt.direction is Direction.INBOUND or attempt.contact_id == REFEREE.id
    if protected:
        assert evaluation.verdict is not Verdict.REJECTED
        assert all(f.severity is not Severity.BLOCK for f in evaluation.findings)
    if attempt.direction is Direction.INBOUND:
        assert evaluation.findings == ()


@examples
@given(
    attempts(Direction.OUTBOUND),
    history,
    st.lists(st.tuples(attempts(), st.integers(min_value=0, max_value=10 * 24 * 60)), max_size=4),
    interviews(),
)
def test_stored_attempts_at_or_after_the_evaluated_one_change_nothing(
    attempt: AttemptFacts,
    stored: list[AttemptFacts],
    future: list[tuple[AttemptFacts, int]],
    interview: InterviewFacts,
) -> None:
    later = [
        replace(other, occurred_at=attempt.occurred_at + timedelta(minutes=minutes))
        for other, minutes in future
    ]
    with_later = _run(attempt, [*stored, *later], interview, DEFAULT_SETTINGS)
    assert with_later == _run(attempt, stored, interview, DEFAULT_SETTINGS)
