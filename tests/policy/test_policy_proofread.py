"""Proofreading: spelling, doubled words, long sentences, greeting and sign-off."""

import pytest

from app.enums import Channel, Direction, Severity
from app.policy import Problem, ProblemKind, proofread
from tests.policy.policy_factories import (
    CLEAN_EMAIL,
    DAY,
    REFEREE,
    T,
    attempt,
    finding,
    rule_ids,
    run,
)

NAMES = ["Zentrovia Labs", "Senior Backend Engineer", "Alex Marchetti", "Priya Raghunathan"]


def kinds(problems: list[Problem]) -> list[ProblemKind]:
    return [problem.kind for problem in problems]


def misspelled(problems: list[Problem]) -> list[str]:
    return [p.text for p in problems if p.kind is ProblemKind.SPELLING]


def check_email(body: str, subject: str | None = None) -> list[Problem]:
    return proofread(subject, body, is_email=True, known_words=NAMES)


def check_text(body: str) -> list[Problem]:
    return proofread(None, body, is_email=False, known_words=NAMES)


def test_a_clean_well_formed_email_passes() -> None:
    assert check_email(CLEAN_EMAIL, subject="Thank you for meeting me") == []
    evaluation = run(attempt(Channel.EMAIL, T + 2 * DAY, subject="Thank you"))
    assert "proofread" not in rule_ids(evaluation)


def test_a_misspelling_is_found_with_suggestions() -> None:
    problems = check_text("I really apreciate your time and the interveiw yesterday.")
    assert [p.to_dict() for p in problems] == [
        {
            "kind": "spelling",
            "field": "body",
            "text": "apreciate",
            "suggestions": ["appreciate"],
        },
        {
            "kind": "spelling",
            "field": "body",
            "text": "interveiw",
            "suggestions": ["interview"],
        },
    ]


def test_suggestions_are_short_and_follow_the_words_case() -> None:
    problems = check_text("Teh team was great.")
    assert misspelled(problems) == ["Teh"]
    suggestions = problems[0].suggestions
    assert suggestions is not None
    assert 1 <= len(suggestions) <= 3
    assert suggestions[0] == "The"


def test_a_word_with_no_close_match_has_empty_suggestions() -> None:
    problems = check_text("It was qxzvbnmw.")
    assert [(p.text, p.suggestions) for p in problems] == [("qxzvbnmw", ())]


def test_a_repeated_misspelling_is_reported_once_per_field() -> None:
    problems = proofread("Recieve", "I recieve it. I recieve it.", is_email=False)
    assert [(p.field, p.text) for p in problems] == [("subject", "Recieve"), ("body", "recieve")]


def test_names_of_company_role_candidate_and_contacts_are_known() -> None:
    text = "Zentrovia is great. I told zentrovia, raghunathan and marchetti so."
    assert check_text(text) == []
    unknown_names = proofread(None, text, is_email=False)
    assert misspelled(unknown_names) == ["Zentrovia", "raghunathan", "marchetti"]


def test_contact_names_come_from_the_interviews_contacts() -> None:
    body = "Szczepanik will be in touch. Szczepanik knows my work."
    sms = attempt(Channel.TEXT_MESSAGE, T + 2 * DAY, body=body)
    assert "proofread" not in rule_ids(run(sms))
    assert "proofread" in rule_ids(run(sms, contacts=()))


@pytest.mark.parametrize(
    "text",
    [
        "It's great, I'm keen, don't worry, you're kind, we'll see, they've said so.",
        "It\u2019s great and I\u2019m keen; don\u2019t worry.",
        "The team's plans and the candidates' answers impressed me.",
        "See https://example.com/portfolio?id=3 or www.alexm.dev or alexm.dev/work today.",
        "Write to alex.marchetti@example.com or ping @alexm about #hiring news.",
        "We met at 3pm on the 2nd floor for 45 minutes, room B12, etc.",
        "My follow-up covers a well-known, long-term plan.",
        "I will prioritise it, as the organisation must reemphasise its colour and centre.",
        "I worked with LinkedIn, iOS apps, AWS and SQL at NASA.",
        "On Tuesday I spoke with Marguerite about Kubernetes at Fizzbuzzly.",
        "I updated my résumé and CV.",
        "I met Dr. Okonkwo-Vasquez and Ms. Szczepanik, e.g. Hamdani too.",
    ],
)
def test_ordinary_writing_is_not_flagged(text: str) -> None:
    assert check_text(text) == []


def test_capitalised_words_are_checked_at_the_start_of_a_sentence() -> None:
    problems = check_text("Thanks again. Definately a great day.\nExcelent people.")
    assert misspelled(problems) == ["Definately", "Excelent"]


def test_hyphenated_words_are_checked_part_by_part() -> None:
    assert misspelled(check_text("A well-knwon plan.")) == ["knwon"]


def test_a_doubled_word_is_found_case_insensitively() -> None:
    problems = check_text("Thank you for the The interview. It was was great.")
    assert [(p.kind, p.text) for p in problems] == [
        (ProblemKind.DOUBLED_WORD, "the The"),
        (ProblemKind.DOUBLED_WORD, "was was"),
    ]


def test_words_separated_by_punctuation_are_not_doubled() -> None:
    assert check_text("Yes, yes: I know. Know this.") == []


def test_an_email_without_a_greeting_is_flagged() -> None:
    body = CLEAN_EMAIL.replace("Dear Priya,", "Thanks for yesterday.")
    problems = check_email(body)
    assert [p.to_dict() for p in problems] == [
        {"kind": "missing_greeting", "field": "body", "text": "Thanks for yesterday."}
    ]


@pytest.mark.parametrize(
    "greeting",
    ["Hi Priya,", "Hello,", "Hey Priya!", "Good morning Priya,", "Greetings,", "dear team,"],
)
def test_usual_greetings_are_recognised(greeting: str) -> None:
    assert check_email(CLEAN_EMAIL.replace("Dear Priya,", greeting)) == []


def test_an_email_without_a_sign_off_is_flagged() -> None:
    body = CLEAN_EMAIL.replace("Best regards,\n", "")
    problems = check_email(body)
    assert [p.to_dict() for p in problems] == [
        {"kind": "missing_sign_off", "field": "body", "text": "Alex Marchetti"}
    ]


@pytest.mark.parametrize(
    "closing",
    ["Kind regards,", "Sincerely,", "Thanks,", "Thank you,", "Best,", "Cheers,", "All the best,"],
)
def test_usual_sign_offs_are_recognised(closing: str) -> None:
    assert check_email(CLEAN_EMAIL.replace("Best regards,", closing)) == []


def test_a_sign_off_must_be_short_and_near_the_end() -> None:
    long_line = "Thanks for everything you and the team did for me."
    assert kinds(check_email(CLEAN_EMAIL.replace("Best regards,", long_line))) == [
        ProblemKind.MISSING_SIGN_OFF
    ]
    far = CLEAN_EMAIL + "\n\nP.S. I enjoyed it.\nAnother line.\nAnd one more."
    assert kinds(check_email(far)) == [ProblemKind.MISSING_SIGN_OFF]


def test_an_email_with_no_body_lacks_greeting_and_sign_off_but_has_no_typos() -> None:
    problems = proofread("Thank you", None, is_email=True)
    assert [p.to_dict() for p in problems] == [
        {"kind": "missing_greeting", "field": "body", "text": ""},
        {"kind": "missing_sign_off", "field": "body", "text": ""},
    ]
    assert proofread(None, "   ", is_email=False) == []


def words(count: int) -> str:
    """`count` words with no word repeated twice in a row."""
    return " ".join(("one", "two", "three", "four")[i % 4] for i in range(count))


def test_a_sentence_over_40_words_is_too_long() -> None:
    assert check_text(words(40) + ".") == []
    problems = check_text("Short one. " + words(41) + ". Another short one.")
    assert kinds(problems) == [ProblemKind.LONG_SENTENCE]
    assert problems[0].words == 41
    assert problems[0].text.startswith("one two three four")
    assert problems[0].text.endswith("…")


def test_line_breaks_end_sentences() -> None:
    assert check_text(words(30) + "\n" + words(30) + ".") == []


def test_text_messages_need_no_greeting_or_sign_off() -> None:
    sms = attempt(Channel.TEXT_MESSAGE, T + 8 * DAY, body="Just checking in on next steps.")
    assert "proofread" not in rule_ids(run(sms))


def test_proofread_finding_lists_each_problem() -> None:
    email = attempt(Channel.EMAIL, T + 2 * DAY, subject="Thnak you", body="I realy enjoyed it.")
    found = finding(run(email), "proofread")
    assert found.severity is Severity.WARN
    assert found.message == (
        'Proofread before sending: 2 possible misspellings ("Thnak", "realy"); '
        "no greeting; no sign-off."
    )
    assert found.details is not None
    assert [(d["kind"], d["field"], d["text"]) for d in found.details] == [
        ("spelling", "subject", "Thnak"),
        ("spelling", "body", "realy"),
        ("missing_greeting", "body", "I realy enjoyed it."),
        ("missing_sign_off", "body", "I realy enjoyed it."),
    ]


@pytest.mark.parametrize(
    "channel", [Channel.TEXT_MESSAGE, Channel.SOCIAL_MESSAGE, Channel.PUBLIC_POST]
)
def test_written_channels_are_proofread(channel: Channel) -> None:
    sloppy = attempt(channel, T + 8 * DAY, body="Thnaks for the the chat", contact=None)
    assert "proofread" in rule_ids(run(sloppy))


@pytest.mark.parametrize("channel", [Channel.PHONE_CALL, Channel.IN_PERSON, Channel.OTHER])
def test_spoken_channels_are_not_proofread(channel: Channel) -> None:
    assert "proofread" not in rule_ids(run(attempt(channel, T + 8 * DAY, body="Thnaks teh")))


def test_messages_to_referees_are_proofread() -> None:
    briefing = attempt(Channel.EMAIL, T + DAY, contact=REFEREE, body="Hi,\nThnaks!\nBest,\nAlex")
    assert finding(run(briefing), "proofread").severity is Severity.WARN


def test_inbound_messages_are_not_proofread() -> None:
    theirs = attempt(
        Channel.EMAIL, T + 3 * DAY, direction=Direction.INBOUND, body="Thnaks for teh chat"
    )
    assert run(theirs).findings == ()


def test_a_garbled_message_reports_a_bounded_number_of_problems() -> None:
    gibberish = " ".join(f"qz{chr(97 + i % 26)}{chr(97 + i // 26)}x" for i in range(300))
    problems = check_text(gibberish)
    assert len(misspelled(problems)) == 25
