"""The rules' citations of the seed article, and the generated docs page."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.enums import Channel, Decision, Direction
from app.policy import RULES, RULES_BY_ID, AttemptFacts, Evaluation
from app.policy.docs import REPLY_STEPS, main, measured_block, render, walk
from app.policy.proofread import EXAMPLES
from app.policy.search_terms import SEARCH_WORDS
from tests.policy.policy_factories import (
    DAY,
    HOUR,
    T,
    attempt,
    decided,
    finding,
    run,
)

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT.parent / "shared" / "seed" / "000_a1548ea55815cc34.txt"
"""The article itself is not part of this repository; CI lays it out beside the clone."""
DOCS = ROOT / "docs" / "policy.md"

CONTRACT_QUOTES = {
    "wait-24-hours": "If it's been 24 hours since your meeting … it makes good sense to follow up",
    "no-repeat-calls": "Once you've sent an initial follow-up email, resist the urge to call and "
    "leave multiple voicemail messages",
    "one-follow-up-email": "Once you've sent an initial follow-up email, resist the urge to call "
    "and leave multiple voicemail messages",
    "multiple-voicemails": "Once you've sent an initial follow-up email, resist the urge to call "
    "and leave multiple voicemail messages",
    "weekly-contact-limit": "searching for a job is a waiting game",
    "no-social-connection": "avoid adding them on Facebook, Twitter or other social platforms – "
    "particularly if their hiring decisions are still being made",
    "no-public-post": "abstain from posting about your interview on your social channels, even if "
    "your comment is positive",
    "proofread": "it's worth proofing the email … Grammatical errors or confusing sentences can "
    "negatively impact your chance",
}
"""The seed passages of the contract's rule table (section 6), apostrophes made plain."""


def plain(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'"))


def test_every_rule_with_a_contract_quote_carries_it() -> None:
    quoted = {rule.id for rule in RULES if rule.quote is not None}
    assert quoted == set(CONTRACT_QUOTES)
    for rule_id, contract_quote in CONTRACT_QUOTES.items():
        quote = RULES_BY_ID[rule_id].quote
        assert quote is not None
        for part in contract_quote.split(" … "):
            assert part in quote, (rule_id, part)


@pytest.mark.skipif(
    not SEED.exists(),
    reason=f"the seed article is not beside this clone ({SEED}); CI provides it",
)
def test_every_quote_is_word_for_word_from_the_article() -> None:
    article = plain(SEED.read_text(encoding="utf-8"))
    for rule in RULES:
        if rule.quote is not None:
            assert rule.quote in article, rule.id


def _firing(rule_id: str) -> Evaluation:
    """An attempt that makes `rule_id` fire."""
    follow_up = attempt(Channel.EMAIL, T + DAY + HOUR)
    scenarios: dict[str, tuple[AttemptFacts, list[AttemptFacts]]] = {
        "wait-24-hours": (attempt(Channel.EMAIL, T + HOUR), []),
        "no-repeat-calls": (attempt(Channel.PHONE_CALL, T + 2 * DAY), [follow_up]),
        "one-follow-up-email": (attempt(Channel.EMAIL, T + 2 * DAY), [follow_up]),
        "multiple-voicemails": (
            attempt(Channel.VOICEMAIL, T + 2 * DAY),
            [attempt(Channel.VOICEMAIL, T + 2 * DAY - HOUR)],
        ),
        "weekly-contact-limit": (
            attempt(Channel.PHONE_CALL, T + 3 * DAY),
            [follow_up, attempt(Channel.PHONE_CALL, T + 2 * DAY)],
        ),
        "no-social-connection": (attempt(Channel.SOCIAL_CONNECTION, T + 2 * DAY), []),
        "no-public-post": (attempt(Channel.PUBLIC_POST, T + 2 * DAY, contact=None), []),
        "proofread": (attempt(Channel.TEXT_MESSAGE, T + 2 * DAY, body="Thnaks!"), []),
    }
    evaluated, stored = scenarios[rule_id]
    return run(evaluated, *stored)


@pytest.mark.parametrize("rule_id", sorted(CONTRACT_QUOTES))
def test_findings_cite_the_contracts_quote(rule_id: str) -> None:
    found = finding(_firing(rule_id), rule_id)
    text = plain(found.message + " " + found.advice)
    for part in CONTRACT_QUOTES[rule_id].split(" … "):
        assert part in text


def test_findings_after_a_decision_still_cite_their_quote() -> None:
    interview = decided(Decision.OFFER, datetime(2025, 3, 6, tzinfo=UTC))
    post = attempt(Channel.PUBLIC_POST, T + 3 * DAY, contact=None)
    social = attempt(Channel.SOCIAL_CONNECTION, T + 3 * DAY)
    for evaluated, rule_id in ((post, "no-public-post"), (social, "no-social-connection")):
        found = finding(run(evaluated, interview=interview), rule_id)
        assert CONTRACT_QUOTES[rule_id] in plain(found.advice)


def test_the_committed_docs_page_is_up_to_date() -> None:
    assert main(["--check", str(DOCS)]) == 0
    page = DOCS.read_text(encoding="utf-8")
    assert page == render(measured_block(page))


def test_writing_the_page_keeps_its_measured_figures(tmp_path: Path) -> None:
    page = tmp_path / "policy.md"
    figures = "- Well-written messages with any `proofread` finding: 1 of 200.\n"
    page.write_text(render(figures).replace("### `proofread`", "### `old`"), encoding="utf-8")
    assert main(["--write", str(page)]) == 0
    assert page.read_text(encoding="utf-8") == render(figures)
    assert measured_block(page.read_text(encoding="utf-8")) == figures


def test_the_proofreading_examples_show_what_the_proofreader_reports() -> None:
    page = render()
    assert '`spelling` "Ledgerley" → "Ledgerly"' in page
    assert '`spelling` "Katherine" → "Catherine"' in page
    assert '`spelling` "i" → "I"' in page
    assert page.count("  Example") == len(EXAMPLES)


def test_the_check_fails_on_a_stale_or_missing_page(tmp_path: Path) -> None:
    stale = tmp_path / "policy.md"
    stale.write_text(render().replace("`warn`", "`block`"), encoding="utf-8")
    assert main(["--check", str(stale)]) == 1
    assert main(["--check", str(tmp_path / "missing.md")]) == 1


def test_write_then_check_round_trips(tmp_path: Path) -> None:
    page = tmp_path / "docs" / "policy.md"
    assert main(["--write", str(page)]) == 0
    assert main(["--check", str(page)]) == 0


def test_the_page_lists_every_rule_with_its_severity_and_quote(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 0
    page = capsys.readouterr().out
    assert page == render()
    for rule in RULES:
        assert f"### `{rule.id}`" in page
        assert rule.fires_when in page
        if rule.quote is not None:
            assert rule.quote in page
    assert "`block` (`info` after a decision)" in page
    assert "`block` (`warn` after a decision)" in page


def test_the_page_explains_replies_decisions_and_posts_with_an_example_each() -> None:
    page = render()
    for section in ("## Replies", "## Decisions", "## Posts"):
        assert section in page
        after = page.split(section, 1)[1]
        assert "| # | when (London) | attempt | verdict | findings | `reply_to` |" in after
    for word in SEARCH_WORDS:
        assert f"`{word}`" in page
    assert '"reply_window": "PT72H"' in page


def test_the_reply_example_shows_replies_and_what_they_would_be_without_the_inbound() -> None:
    with_inbound = walk(REPLY_STEPS).splitlines()
    assert with_inbound[4].endswith("| `allowed` | none | #2 |")  # step 3 answers step 2
    assert "`rejected` | `no-repeat-calls` (block)" in with_inbound[5]
    assert with_inbound[7].endswith("| `allowed` | none | #5 |")
    outbound_only = [s for s in REPLY_STEPS if s.direction is Direction.OUTBOUND]
    without = walk(outbound_only).splitlines()
    assert "calling her back | `rejected` | `no-repeat-calls` (block)" in without[3]
    assert "| `rejected` | `no-social-connection` (block) |" in without[5]
