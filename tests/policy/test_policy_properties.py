"""Properties of the engine over generated interviews, attempts and settings."""

from dataclasses import replace
from datetime import datetime, timedelta

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
from app.policy.search_terms import mentions
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

VERDICT_ORDER = [Verdict.ALLOWED, Verdict.FLAGGED, Verdict.REJECTED]

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


@st.composite
def histories(draw: st.DrawFn) -> list[AttemptFacts]:
    """Stored attempts with ids; some outbound ones are replies to an inbound one."""
    stored = [
        replace(item, id=f"att-{index}")
        for index, item in enumerate(draw(st.lists(attempts(), max_size=10)))
    ]
    inbound_ids = [item.id for item in stored if item.direction is Direction.INBOUND]
    if not inbound_ids:
        return stored
    return [
        replace(item, reply_to=draw(st.none() | st.sampled_from(inbound_ids)))
        if item.direction is Direction.OUTBOUND
        else item
        for item in stored
    ]


history = histories()


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
    after = _run(
        attempt, [*stored, replace(inbound, id="att-inbound")], interview, DEFAULT_SETTINGS
    )
    if before.verdict is Verdict.ALLOWED:
        assert after.verdict is not Verdict.REJECTED
    # An inbound attempt counts against no one; it can only make the attempt a reply,
    # which takes findings away and adds or changes none.
    assert all(found in before.findings for found in after.findings)
    assert VERDICT_ORDER.index(after.verdict) <= VERDICT_ORDER.index(before.verdict)


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


CHASING_RULES = {
    "wait-24-hours",
    "one-follow-up-email",
    "no-repeat-calls",
    "multiple-voicemails",
    "weekly-contact-limit",
}
"""The counting and timing rules that leave replies and offers alone (contract v2)."""

gaps = st.integers(min_value=1, max_value=5 * 24 * 60).map(lambda m: timedelta(minutes=m))


@examples
@given(attempts(Direction.OUTBOUND), history, attempts(Direction.INBOUND), gaps, interviews())
def test_a_reply_gets_no_finding_from_the_chasing_rules_or_after_decision(
    attempt: AttemptFacts,
    stored: list[AttemptFacts],
    inbound: AttemptFacts,
    gap: timedelta,
    interview: InterviewFacts,
) -> None:
    theirs = replace(inbound, id="att-theirs", occurred_at=attempt.occurred_at - gap)
    reply = replace(attempt, in_reply_to=theirs.id)
    evaluation = _run(reply, [*stored, theirs], interview, everything_blocks())
    if attempt.channel is Channel.PUBLIC_POST:
        assert evaluation.reply_to is None
        return
    assert evaluation.reply_to == theirs.id
    assert not {f.rule for f in evaluation.findings} & (CHASING_RULES | {"after-decision"})


@examples
@given(attempts(Direction.OUTBOUND), history, attempts(Direction.OUTBOUND), interviews())
def test_a_stored_reply_changes_no_later_evaluation(
    attempt: AttemptFacts,
    stored: list[AttemptFacts],
    earlier_reply: AttemptFacts,
    interview: InterviewFacts,
) -> None:
    explicit_only = replace(DEFAULT_SETTINGS, reply_window=timedelta(0))
    reply = replace(earlier_reply, id="att-reply", reply_to="att-theirs")
    without = _run(attempt, stored, interview, explicit_only)
    assert _run(attempt, [*stored, reply], interview, explicit_only) == without


@examples
@given(attempts(), history, interviews(), policy_settings())
def test_reply_to_names_an_earlier_inbound_attempt(
    attempt: AttemptFacts,
    stored: list[AttemptFacts],
    interview: InterviewFacts,
    policy: PolicySettings,
) -> None:
    evaluation = _run(attempt, stored, interview, policy)
    if evaluation.reply_to is None:
        return
    assert attempt.direction is Direction.OUTBOUND
    [answered] = [item for item in stored if item.id == evaluation.reply_to]
    assert answered.direction is Direction.INBOUND
    assert answered.occurred_at < attempt.occurred_at
    assert answered.occurred_at > attempt.occurred_at - policy.reply_window


@examples
@given(attempts(), history, interviews())
def test_a_zero_reply_window_leaves_only_explicit_replies(
    attempt: AttemptFacts, stored: list[AttemptFacts], interview: InterviewFacts
) -> None:
    explicit_only = replace(DEFAULT_SETTINGS, reply_window=timedelta(0))
    assert _run(attempt, stored, interview, explicit_only).reply_to is None


@examples
@given(
    attempts(Direction.OUTBOUND),
    history,
    st.sampled_from([Decision.OFFER, Decision.HIRED]),
    gaps,
    policy_settings(),
)
def test_after_an_offer_the_chasing_rules_never_fire(
    attempt: AttemptFacts,
    stored: list[AttemptFacts],
    decision: Decision,
    gap: timedelta,
    policy: PolicySettings,
) -> None:
    interview = replace(INTERVIEW, decision=decision, decided_at=attempt.occurred_at - gap)
    evaluation = _run(attempt, stored, interview, policy)
    assert not {f.rule for f in evaluation.findings} & CHASING_RULES


def _to_employer(attempt: AttemptFacts) -> bool:
    if attempt.contact_id is not None:
        return attempt.contact_id != REFEREE.id
    return attempt.channel not in SOCIAL_CHANNELS


@examples
@given(
    attempts(Direction.OUTBOUND),
    history,
    st.sampled_from([Decision.REJECTED, Decision.WITHDRAWN, Decision.CANCELLED]),
    moments,
)
def test_after_decision_fires_exactly_from_the_second_note_after_the_decision(
    attempt: AttemptFacts, stored: list[AttemptFacts], decision: Decision, decided_at: datetime
) -> None:
    interview = replace(INTERVIEW, decision=decision, decided_at=decided_at)
    evaluation = _run(attempt, stored, interview, DEFAULT_SETTINGS)
    earlier_notes = [
        item
        for item in stored
        if item.direction is Direction.OUTBOUND
        and item.reply_to is None
        and _to_employer(item)
        and decided_at <= item.occurred_at < attempt.occurred_at
    ]
    expected = (
        _to_employer(attempt)
        and evaluation.reply_to is None
        and attempt.occurred_at >= decided_at
        and bool(earlier_notes)
    )
    assert ("after-decision" in {f.rule for f in evaluation.findings}) is expected


post_texts = st.sampled_from(
    [
        None,
        "",
        "Ran my first half marathon today!",
        "Great interview today!",
        "Lovely chat with Priya",
        "Our new puppy is called Biscuit",
        "Zentrovia Labs has the best coffee",
        "#OpenToWork",
    ]
)


@examples
@given(post_texts, post_texts, moments, interviews(), policy_settings())
def test_only_posts_about_the_search_or_without_text_can_be_rejected_as_posts(
    subject: str | None,
    body: str | None,
    at: datetime,
    interview: InterviewFacts,
    policy: PolicySettings,
) -> None:
    post = AttemptFacts(
        Channel.PUBLIC_POST,
        Direction.OUTBOUND,
        at,
        platform=Platform.TWITTER,
        subject=subject,
        body=body,
    )
    found = [f for f in _run(post, [], interview, policy).findings if f.rule == "no-public-post"]
    if not policy.rules["no-public-post"].enabled:
        assert found == []
        return
    [posted] = found
    text = " ".join(part for part in (subject, body) if part)
    about = mentions(
        text,
        company=interview.company,
        role_title=interview.role_title,
        contact_names=[RECRUITER.name, MANAGER.name, REFEREE.name],
    )
    if text.strip() and not about:
        assert posted.severity is Severity.INFO
        assert "judged unrelated" in posted.message
    else:
        pending = interview.decision is Decision.PENDING or (
            interview.decided_at is not None and at < interview.decided_at
        )
        assert posted.severity is policy.rules["no-public-post"].severity_for(pending)
