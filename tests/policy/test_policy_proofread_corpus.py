"""The proofreader on a corpus of real-looking follow-ups: quiet on good ones, loud on slips.

Contract 6.2: at most 2 % of well-written messages may get a `proofread` finding, and at
least 90 % of messages with one real slip must.
"""

from collections import Counter
from pathlib import Path

import pytest

from app.policy.docs import measured_block
from tests.policy.proofread_corpus import SLIPS, Message, Rates, load, measure, proofread_details

DOCS = Path(__file__).resolve().parents[2] / "docs" / "policy.md"

EXPECTED_KIND = {
    "misspelt-word": "spelling",
    "misspelt-company": "spelling",
    "misspelt-contact": "spelling",
    "wrong-name-greeting": "spelling",
    "lower-case-i": "spelling",
    "doubled-word": "doubled_word",
    "missing-greeting": "missing_greeting",
    "missing-sign-off": "missing_sign_off",
    "long-sentence": "long_sentence",
}


@pytest.fixture(scope="module")
def rates() -> Rates:
    return measure()


def test_the_corpus_is_large_and_varied() -> None:
    good, slips = load("good"), load("slips")
    assert len(good) >= 150
    assert len(slips) >= 60
    assert set(Counter(message.slip for message in slips)) == SLIPS
    assert all(message.slip is None for message in good)
    channels = Counter(message.channel.value for message in good)
    assert channels["email"] >= 100 and channels["text_message"] and channels["social_message"]
    assert len({message.company for message in good}) >= 100
    assert len({message.id for message in good + slips}) == len(good) + len(slips)


def test_well_written_messages_rarely_get_a_proofread_finding(rates: Rates) -> None:
    assert rates.false_alarm_rate <= 0.02


def test_real_slips_almost_always_get_a_proofread_finding(rates: Rates) -> None:
    assert rates.detection_rate >= 0.90


def test_slips_are_found_for_what_they_are() -> None:
    slips = load("slips")
    named = [message for message in slips if _names_the_slip(message)]
    assert len(named) / len(slips) >= 0.90


def _names_the_slip(message: Message) -> bool:
    assert message.slip is not None
    kinds = {detail["kind"] for detail in proofread_details(message)}
    return EXPECTED_KIND[message.slip] in kinds


def test_the_documented_corpus_figures_are_the_measured_ones(rates: Rates) -> None:
    documented = measured_block(DOCS.read_text(encoding="utf-8"))
    assert documented == rates.markdown(), (
        "docs/policy.md reports other figures; run "
        "`python -m tests.policy.proofread_corpus --write docs/policy.md`"
    )
