"""What makes a public post about the interview or the search."""

import pytest

from app.policy.search_terms import GENERIC_NAME_WORDS, SEARCH_WORDS, mentions


def found(
    text: str, company: str = "Northwind Traders", contacts: tuple[str, ...] = ()
) -> list[str]:
    return mentions(text, company=company, role_title="Data Analyst", contact_names=contacts)


@pytest.mark.parametrize(
    "word", ["interview", "hiring", "recruiter", "job", "offer", "role", "position", "application"]
)
def test_the_contracts_search_words_are_in_the_vocabulary(word: str) -> None:
    assert word in SEARCH_WORDS
    assert found(f"All about the {word.upper()} today") == [word]


def test_search_words_are_whole_words() -> None:
    assert found("Jobsworth parking wardens and rolex watches") == []
    assert found("Two interviews this week") == ["interviews"]


def test_each_search_word_is_listed_once_in_order_of_appearance() -> None:
    assert found("Job offer! Best job ever, what an offer") == ["job", "offer"]


def test_hashtags_are_split_at_their_capitals() -> None:
    assert found("Monday mood #NewJob #OpenToWork") == ["job", "opentowork"]


def test_the_company_matches_by_its_whole_name_in_any_case() -> None:
    assert found("Visited NORTHWIND-TRADERS today") == ["Northwind Traders"]
    assert found("visited northwind traders today") == ["Northwind Traders"]


def test_a_distinctive_word_of_the_company_matches_as_written() -> None:
    assert found("Lunch near Northwind") == ["Northwind Traders"]
    assert found("Big news from @northwind") == ["Northwind Traders"]
    assert found("a northwind blew all day") == []


def test_generic_words_of_a_company_name_do_not_match_on_their_own() -> None:
    assert "labs" in GENERIC_NAME_WORDS
    assert found("Our Labs are open", company="Zentrovia Labs") == []
    assert found("Our Zentrovia Labs day", company="Zentrovia Labs") == ["Zentrovia Labs"]


def test_an_ordinary_word_that_names_the_company_needs_its_capital() -> None:
    assert found("An apple a day", company="Apple") == []
    assert found("Apple keynote tonight", company="Apple") == ["Apple"]


def test_the_role_title_matches_as_a_phrase() -> None:
    assert found("What does a data analyst do?") == ["Data Analyst"]
    assert found("The data was analysed by an analyst") == []


def test_contacts_match_by_full_name_or_a_name_as_written() -> None:
    contacts = ("Morgan Lee", "Priya Raghunathan")
    assert found("Coffee with morgan lee", contacts=contacts) == ["Morgan Lee"]
    assert found("Thanks Priya!", contacts=contacts) == ["Priya Raghunathan"]
    assert found("thanks priya", contacts=contacts) == []


def test_mentions_come_in_a_fixed_order_without_repeats() -> None:
    text = "Interview with Morgan at Northwind for the Data Analyst role, Morgan was great"
    assert found(text, contacts=("Morgan Lee",)) == [
        "Northwind Traders",
        "Data Analyst",
        "Morgan Lee",
        "interview",
        "role",
    ]


def test_a_post_about_something_else_mentions_nothing() -> None:
    assert found("Ran my first half marathon this morning, legs are jelly.") == []
