"""The proofreader's word lists: shipped as package data, sorted, and not redundant."""

from importlib import resources

import pytest
from spellchecker import SpellChecker

from app.policy.vocabulary import lexicon, word_file


def test_the_work_vocabulary_is_sorted_lower_case_and_without_repeats() -> None:
    words = word_file("work-vocabulary.txt")
    assert words == sorted(set(words))
    assert all(word == word.lower() and " " not in word for word in words)


def test_the_work_vocabulary_has_no_word_a_dictionary_already_knows() -> None:
    american = SpellChecker(language="en").word_frequency.dictionary
    british = {word.lower() for word in word_file("british-english.txt")}
    redundant = [w for w in word_file("work-vocabulary.txt") if w in american or w in british]
    assert redundant == []


def test_the_british_list_ships_with_its_licence() -> None:
    words = resources.files("app.policy").joinpath("words")
    licence = words.joinpath("british-english.LICENSE").read_text(encoding="utf-8")
    assert "Kevin Atkinson" in licence
    header = words.joinpath("british-english.txt").read_text(encoding="utf-8").splitlines()[:3]
    assert any("british-english.LICENSE" in line for line in header)


@pytest.mark.parametrize(
    "word",
    ["colour", "centred", "organisation", "programme", "catalogue", "licence", "jewellery"],
)
def test_british_spellings_are_known(word: str) -> None:
    assert lexicon().knows(word)


@pytest.mark.parametrize("word", ["recieve", "definately", "untill", "alot", "teh", "beginer"])
def test_usual_misspellings_are_not_known(word: str) -> None:
    assert not lexicon().knows(word)


def test_capitalised_only_entries_are_names_and_never_corrections() -> None:
    words = lexicon()
    assert "katherine" in words.names_only
    assert "team" not in words.names_only
    assert "katherine" not in words.candidates("katherina")


def test_the_dictionaries_are_loaded_once() -> None:
    assert lexicon() is lexicon()
