"""Proofreading of an outgoing message's subject and body.

Finds likely misspellings, doubled words ("the the"), overlong sentences and, for
emails, a missing greeting or sign-off. Pure apart from the dictionaries, which are
loaded once on first use (`app.policy.vocabulary`).

A proofreader that calls good writing wrong gets switched off, so each check is built
to stay quiet unless it is confident:

- A word is misspelt only when US English, British English, the work vocabulary, the
  account's known words and the interview's names all lack it (with its plural, common
  suffixes and prefixes) *and* a correction exists: a known word one edit away, a letter
  moved, or doubled letters fixed ("tommorow"), keeping the first letter. Names,
  products and jargon rarely sit that close to an ordinary word.
- URLs, e-mail addresses, @handles, #hashtags, domains, phone numbers and any word with
  a digit are skipped; so is a label at the start of a line ("Tel:", "Mob:").
  Contractions and possessives count as their stem; accents are ignored ("résumé"); a
  hyphenated compound is known when the whole, the parts joined, or every part is.
- Capitalised words are names unless they open a sentence and are not used as a name
  elsewhere; even there only the classic slips count ("Thnaks", "Definately"), since
  "Monzo" or "Dara" may open a sentence too. ALL-CAPS acronyms and mixed-case brands
  (LinkedIn, iOS) are skipped.
- A capitalised word that no dictionary knows, one or two edits from a word of the
  company's or a contact's name, is a misspelling of that name ("Ledgerley" for
  Ledgerly). A name in the greeting or after a title may be misspelt into another real
  name ("Dear Katherine" to Catherine, "Ms Brookes"), so there one edit from a contact's
  name is enough (two for long names).
- A lone lower-case "i" is always a mistake.
- The sign-off is a closing phrase ("Best", "Cheers", "With best wishes") or a short line
  ending with a comma, followed only by signature lines (a name, a title, a company, a
  phone number, an address, a labelled line); those lines are not sentences, so their
  capitalised words count as names.
- Line breaks end sentences, so a greeting or sign-off line never lengthens one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from app.policy.letter import Letter, doubled_words, letter_shape, long_sentences, own_words
from app.policy.problems import MAX_SENTENCE_WORDS, Names, Problem
from app.policy.spelling import Context, normalise, spelling_problems

NO_NAMES: Final = Names()
"""No interview names (the default): only the dictionaries and known words."""


@dataclass(frozen=True)
class Example:
    """One of the proofreader's rules with a message showing it, for the docs page (which
    prints what `proofread` really reports for it)."""

    rule: str
    text: str
    names: Names = NO_NAMES
    is_email: bool = False
    known_words: tuple[str, ...] = ()


_LEDGERLY = Names(company="Ledgerly", candidate="Maya Collins", contacts=("Catherine Doyle",))

EXAMPLES: Final = (
    Example(
        "A word is misspelt only when no dictionary knows it (US or British English, the "
        "work vocabulary, the interview's names, the account's `known_words`) and a common "
        "word is one edit away, a letter moved two places away, or differs only in doubled "
        "letters",
        "I really apreciate it, and I'll reccomend you.",
    ),
    Example(
        "British and American spellings are both right",
        "The colour of the centred logo; the color of the centered logo.",
    ),
    Example(
        "Common work and technology words are known",
        "The rollout covers the lifecycle, the teardown and intercompany KPIs in scikit-learn.",
    ),
    Example(
        "An unknown word with no correction (a product, a name, jargon) is left alone",
        "We deploy it with kubeslice and zentrovia.",
    ),
    Example(
        "Numbers, words with digits, URLs, e-mail addresses, @handles, #hashtags, phone "
        "numbers and line labels are never checked",
        "Tel: +44 20 7946 0958, maya@exmaple.com, @mayacolinz, https://mcollins.dev/wrk, Q3",
    ),
    Example(
        "A capitalised word counts as a name unless it opens a sentence and is not used as a "
        "name elsewhere in the text; even then only a classic slip counts (two letters "
        "swapped, one vowel for another, a letter doubled or not), since names and brands "
        "open sentences too",
        "I met Brightwav staff. Definately worth it.",
    ),
    Example(
        "A capitalised word that no dictionary knows, one or two edits from the company's or a "
        "contact's name, is that name misspelt",
        "I would love to join Ledgerley.",
        _LEDGERLY,
    ),
    Example(
        "A greeting, or a title, naming someone one edit from a contact is a wrong name, even "
        "when it is a real name",
        "Dear Katherine,\n\nThank you for Tuesday.\n\nBest,\nMaya",
        _LEDGERLY,
        is_email=True,
    ),
    Example("A lone lower-case i is a mistake", "Yes, i can start in May."),
    Example("The same word twice in a row is a slip", "Thank you for the the chat."),
    Example(
        f"A sentence of more than {MAX_SENTENCE_WORDS} words is hard to read (a line break "
        "ends a sentence)",
        "Thank you for the interview on Tuesday and for the tour of the depot, which showed "
        "me how closely the planners work with the drivers, the warehouse team and the "
        "customers on every delivery, and why the new routing tool matters so much to all of "
        "them.",
    ),
    Example(
        "An email needs a greeting on its first line and a sign-off",
        "Thanks for Tuesday.\n\nMaya",
        is_email=True,
    ),
    Example(
        "A sign-off is a closing phrase or a short line ending with a comma, followed only by "
        "signature lines (a name, a title, a company, a phone number, an address, a URL, a "
        "labelled line)",
        "Hi Catherine,\n\nThanks for Tuesday.\n\nWith best wishes\nMaya Collins\n"
        "Analyst | Brightwave Ltd\nMob: 07700 900123\nmaya@example.com",
        _LEDGERLY,
        is_email=True,
    ),
    Example(
        'A quoted earlier message (after "On … wrote:" or "> ") is someone else\'s '
        "writing and is not checked",
        "Hi Catherine,\n\nTuesday works.\n\nBest,\nMaya\n\n"
        "On Mon, 3 Mar 2025, Catherine Doyle wrote:\n> Does Tusday suit?",
        _LEDGERLY,
        is_email=True,
    ),
    Example(
        "The account's `known_words` are known, whatever their case",
        "Our bazel builds are fast.",
        known_words=("Bazel",),
    ),
)
"""The proofreader's rules, each with an example, in the order the docs page lists them."""


def proofread(
    subject: str | None,
    body: str | None,
    *,
    is_email: bool,
    names: Names = NO_NAMES,
    known_words: Iterable[str] = (),
) -> list[Problem]:
    """Every problem in the subject, then the body; greeting and sign-off for emails only.

    `known_words` (the account's, any case) extend the dictionary like the names do.
    """
    context = Context.build(names, frozenset(known_words))
    body_lines = own_words(normalise(body or "").splitlines())
    letter = Letter.read(body_lines, context)
    problems: list[Problem] = []
    if subject and subject.strip():
        lines = normalise(subject).splitlines()
        chunked = [line.split() for line in lines]
        problems += spelling_problems("subject", lines, chunked, context, None)
        problems += doubled_words("subject", lines)
        problems += long_sentences("subject", lines)
    if body and body.strip():
        chunked = [line.split() for line in body_lines]
        problems += spelling_problems("body", body_lines, chunked, context, letter)
        problems += doubled_words("body", body_lines)
        problems += long_sentences("body", body_lines)
    if is_email:
        problems += letter_shape(body_lines, letter)
    return problems
