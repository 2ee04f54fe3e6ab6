"""Proofreading: spelling, doubled words, long sentences, greeting and sign-off."""

from dataclasses import replace

import pytest

from app.enums import Channel, Direction, Severity
from app.policy import DEFAULT_SETTINGS, Names, Problem, ProblemKind, proofread
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


def test_an_unknown_word_with_no_correction_is_not_a_mistake() -> None:
    assert check_text("It was qxzvbnmw, and we deployed it with kubeslice.") == []


def test_a_repeated_misspelling_is_reported_once_per_field() -> None:
    problems = proofread("Recieve", "I recieve it. I recieve it.", is_email=False)
    assert [(p.field, p.text) for p in problems] == [("subject", "Recieve"), ("body", "recieve")]


def test_names_of_company_role_candidate_and_contacts_are_known() -> None:
    text = "Zentrovia is great. I told zentrovia, raghunathan and marchetti so."
    assert check_text(text) == []
    names = Names(
        company="Corin Tools", role_title="Bazel Lead", candidate="Tam Houseq", contacts=("Waterq",)
    )
    text = "I told corin, the bazel team, houseq and waterq."
    assert proofread(None, text, is_email=False, names=names) == []
    assert misspelled(proofread(None, text, is_email=False)) == [
        "corin",
        "bazel",
        "houseq",
        "waterq",
    ]


def test_contact_names_come_from_the_interviews_contacts() -> None:
    body = "Szczepanik will be in touch. Ms Okafr knows my work."
    sms = attempt(Channel.TEXT_MESSAGE, T + 2 * DAY, body=body)
    details = finding(run(sms), "proofread").details
    assert details == [
        {"kind": "spelling", "field": "body", "text": "Okafr", "suggestions": ["Okafor"]}
    ]
    assert "proofread" not in rule_ids(run(sms, contacts=()))


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
    garbled = " ".join(f"{word}q" for word in GARBLED_BASES)
    problems = check_text(garbled)
    assert len(misspelled(problems)) == 25


GARBLED_BASES = (
    "house", "water", "table", "paper", "money", "music", "river", "window", "garden", "letter",
    "people", "family", "friend", "school", "doctor", "market", "office", "number", "person",
    "problem", "program", "system", "company", "country", "student", "teacher", "morning",
    "evening", "history", "picture",
)  # fmt: skip


# --- precision: well-written messages stay quiet ------------------------------------

LEDGERLY = Names(
    company="Ledgerly",
    role_title="Finance Systems Analyst",
    candidate="Maya Collins",
    contacts=("Catherine Doyle", "Tom Baker"),
)


def check_ledgerly(
    body: str, *, is_email: bool = False, known: tuple[str, ...] = ()
) -> list[Problem]:
    return proofread(None, body, is_email=is_email, names=LEDGERLY, known_words=known)


@pytest.mark.parametrize(
    "text",
    [
        "The team centred the programme on the organisation's favourite catalogue.",
        "Whilst I travelled, I learnt to analyse the licence, the cheque and the jewellery.",
        "We prioritised behaviour, colour and defence, and enrolled in the aluminium course.",
    ],
)
def test_british_spelling_is_not_a_mistake(text: str) -> None:
    assert check_ledgerly(text) == []


def test_american_spelling_is_not_a_mistake() -> None:
    text = "We prioritized behavior and color, analyzed the catalog and traveled to the center."
    assert check_ledgerly(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "The rollout covered the lifecycle, the teardown and intercompany invoices.",
        "I built onboarding flows, webhooks and Kubernetes jobs for a fintech.",
        "My scikit-learn models fed the KPI dashboards; the SQL ran in dbt.",
        "We cut underserved users' wait times; the uploader handles submittals.",
    ],
)
def test_common_work_and_technology_words_are_known(text: str) -> None:
    assert check_ledgerly(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "Call +44 20 7946 0958 or (555) 010-4821 between 9am and 5pm, ext 12.",
        "Code at https://github.com/mcollins/recon-toolz and mcollins.dev/wrk.",
        "Write to maya.colins@exmaple.com or @mayacolinz on Twitter #finopz.",
        "We moved from Q3 to FY25 using k8s, S3 and GPT-4o on 2nd-gen kit.",
    ],
)
def test_numbers_urls_addresses_and_handles_are_never_checked(text: str) -> None:
    assert check_ledgerly(text) == []


def test_a_labelled_signature_line_is_not_checked() -> None:
    body = "Dear Catherine,\n\nThank you.\n\nBest,\nMaya\nTel: +44 20 7946 0958\nMob: 07700 900123"
    assert check_ledgerly(body, is_email=True) == []


def test_a_capitalised_word_opening_a_sentence_is_a_name_when_used_as_one_elsewhere() -> None:
    assert misspelled(check_ledgerly("Beleive said hello.")) == ["Beleive"]
    assert check_ledgerly("Beleive said hello. I thanked Beleive.") == []
    assert check_ledgerly("Beleive Vale said hello.") == []


@pytest.mark.parametrize("brand", ["Zopa", "Pleo", "Bunq", "Brex", "Dara", "Ciara"])
def test_a_name_opening_a_sentence_is_not_mistaken_for_a_typo(brand: str) -> None:
    assert check_ledgerly(f"{brand} came up in the interview.") == []


@pytest.mark.parametrize(
    ("slip", "suggestion"),
    [("Thnaks", "Thanks"), ("Definately", "Definitely"), ("Untill", "Until"), ("Teh", "The")],
)
def test_a_classic_slip_opening_a_sentence_is_found(slip: str, suggestion: str) -> None:
    problems = check_ledgerly(f"{slip} for the chat.")
    assert [(p.text, p.suggestions) for p in problems] == [(slip, (suggestion,))]


def test_a_sign_off_in_another_language_is_not_checked() -> None:
    body = "Dear Catherine,\n\nThank you.\n\nDiolch a chofion,\nMaya"
    assert check_ledgerly(body, is_email=True) == []
    slip = "Dear Catherine,\n\nThank you.\n\nKind reagrds,\nMaya"
    assert misspelled(check_ledgerly(slip, is_email=True)) == ["reagrds"]


def test_british_and_american_forms_suggested_together() -> None:
    problems = check_ledgerly("I love the colur.")
    assert problems[0].suggestions is not None
    assert {"colour", "color"} <= set(problems[0].suggestions)


@pytest.mark.parametrize(
    ("slip", "suggestion"),
    [("tommorow", "tomorrow"), ("reccomend", "recommend"), ("greatful", "grateful")],
)
def test_common_misspellings_two_edits_away_are_found(slip: str, suggestion: str) -> None:
    problems = check_ledgerly(f"I {slip} it.")
    assert [(p.text, p.suggestions and p.suggestions[0]) for p in problems] == [(slip, suggestion)]


@pytest.mark.parametrize(("slip", "suggestion"), [("alot", "a lot"), ("thankyou", "thank you")])
def test_words_run_together_are_found(slip: str, suggestion: str) -> None:
    problems = check_ledgerly(f"It was {slip} of fun.")
    assert [(p.text, p.suggestions and p.suggestions[0]) for p in problems] == [(slip, suggestion)]


def test_a_prefix_shorter_than_five_letters_of_stem_does_not_hide_a_misspelling() -> None:
    assert misspelled(check_ledgerly("Wait untill then.")) == ["untill"]


# --- names ---------------------------------------------------------------------------


def test_company_name_one_edit_away_is_flagged_with_the_name_as_suggestion() -> None:
    problems = check_ledgerly("I would love to join Ledgerley next year.")
    assert [p.to_dict() for p in problems] == [
        {"kind": "spelling", "field": "body", "text": "Ledgerley", "suggestions": ["Ledgerly"]}
    ]


def test_company_name_two_edits_away_is_flagged() -> None:
    problems = check_ledgerly("I would love to join Ledgrely's team.")
    assert [(p.text, p.suggestions) for p in problems] == [("Ledgrely's", ("Ledgerly",))]


def test_a_contacts_misspelt_surname_is_flagged_with_the_name() -> None:
    problems = check_ledgerly("Please thank Mr Bakker and Ms Doyel.")
    assert [(p.text, p.suggestions) for p in problems] == [
        ("Bakker", ("Baker",)),
        ("Doyel", ("Doyle",)),
    ]


def test_the_right_names_and_ordinary_words_near_them_are_not_flagged() -> None:
    text = "Ledgerly's ledger impressed Catherine Doyle, Tom and Baker Street."
    assert check_ledgerly(text) == []


def test_greeting_to_a_name_one_edit_from_a_contact_is_flagged() -> None:
    problems = check_ledgerly("Dear Katherine,\n\nThank you.\n\nBest,\nMaya", is_email=True)
    assert [p.to_dict() for p in problems] == [
        {"kind": "spelling", "field": "body", "text": "Katherine", "suggestions": ["Catherine"]}
    ]


@pytest.mark.parametrize(
    "greeting", ["Dear Catherine,", "Hi Tom,", "Dear Team,", "Hello Mark,", "Catherine,"]
)
def test_greeting_the_right_person_or_the_team_is_not_flagged(greeting: str) -> None:
    assert check_ledgerly(f"{greeting}\n\nThank you.\n\nBest,\nMaya", is_email=True) == []


def test_greeting_a_real_name_far_from_every_contact_is_not_flagged() -> None:
    assert check_ledgerly("Dear Priya,\n\nThank you.\n\nBest,\nMaya", is_email=True) == []


# --- lower-case i ----------------------------------------------------------------------


def test_a_lone_lower_case_i_is_a_mistake() -> None:
    problems = check_ledgerly("Yes, i think so and i'm keen.")
    assert [(p.text, p.suggestions) for p in problems] == [("i", ("I",)), ("i'm", ("I'm",))]


def test_i_in_abbreviations_and_list_markers_is_not_a_mistake() -> None:
    assert check_ledgerly("Steps: (i) plan, i.e. scope; (ii) build. iOS and i18n too.") == []


# --- sign-off and signature ----------------------------------------------------------

SIGNED = """Dear Catherine,

Thank you for Tuesday.

{closing}
Maya Collins
Senior Analyst | Brightwave Ltd
Tel: +44 20 7946 0958
maya.collins@example.com
https://maya.example.com"""


@pytest.mark.parametrize(
    "closing",
    ["With best wishes,", "Best", "Cheers!", "Yours", "With best wishes", "Until next time,"],
)
def test_a_sign_off_followed_by_a_long_signature_is_recognised(closing: str) -> None:
    assert check_ledgerly(SIGNED.format(closing=closing), is_email=True) == []


def test_a_longer_closing_line_ending_with_a_comma_is_a_sign_off() -> None:
    body = SIGNED.format(closing="Looking forward to hearing from you,")
    assert check_ledgerly(body, is_email=True) == []


def test_a_closing_sentence_is_not_a_sign_off() -> None:
    body = SIGNED.format(closing="I look forward to hearing from you.")
    assert kinds(check_ledgerly(body, is_email=True)) == [ProblemKind.MISSING_SIGN_OFF]


def test_signature_lines_are_names_not_sentences() -> None:
    body = SIGNED.format(closing="Best,") + "\nBrightwave Analytix\nFintra House, Leeds"
    assert check_ledgerly(body, is_email=True) == []


# --- the account's known words -------------------------------------------------------


def test_known_words_extend_the_dictionary_without_regard_to_case() -> None:
    text = "Our bazel builds and Bazels are fast."
    assert misspelled(check_ledgerly(text)) == ["bazel"]
    assert check_ledgerly(text, known=("BAZEL",)) == []


def test_the_rule_reads_known_words_from_the_accounts_settings() -> None:
    sms = attempt(Channel.TEXT_MESSAGE, T + 2 * DAY, body="Our bazel builds are fast.")
    assert "proofread" in rule_ids(run(sms))
    settings = replace(DEFAULT_SETTINGS, known_words=frozenset({"bazel"}))
    assert "proofread" not in rule_ids(run(sms, settings=settings))


def test_a_quoted_earlier_message_is_not_proofread() -> None:
    body = (
        "Hi Catherine,\n\nTuesday at 10 works well.\n\nBest,\nMaya\n\n"
        "On Mon, 3 Mar 2025 at 09:12, Catherine Doyle <c@example.com> wrote:\n"
        "> Could you do Tuesday? You'd meet the contrllers team.\n> Thanks, Catherine"
    )
    assert check_ledgerly(body, is_email=True) == []


def test_a_confidentiality_notice_after_the_signature_is_allowed() -> None:
    body = SIGNED.format(closing="Kind regards,") + (
        "\n\nThis email and any attachments are confidential and intended solely for the addressee."
    )
    assert check_ledgerly(body, is_email=True) == []


def test_a_title_case_subject_is_checked_word_by_word() -> None:
    problems = proofread("Thank You For The Oppurtunity", None, is_email=False, names=LEDGERLY)
    assert [(p.text, p.suggestions) for p in problems] == [("Oppurtunity", ("Opportunity",))]
    fine = "Thank You – Ledgerly Finance Systems Analyst Interview With Monzo"
    assert proofread(fine, None, is_email=False, names=LEDGERLY) == []
