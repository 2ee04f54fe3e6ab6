"""Proofreading of an outgoing message's subject and body.

Finds likely misspellings, doubled words ("the the"), overlong sentences and, for
emails, a missing greeting or sign-off. Pure apart from pyspellchecker loading its
bundled English word list once, on first use.

Spelling choices, made to keep false alarms rare:

- Only words are checked: URLs, e-mail addresses, @handles, #hashtags, numbers and
  words containing digits are skipped; hyphenated words are checked part by part;
  contractions and possessives (it's, don't, Acme's; typographic apostrophes too) are accepted when
  the word or its stem is known; accents are ignored ("résumé").
- Capitalised words are treated as names and skipped unless they start a sentence or
  a line, where they are checked in lower case. ALL-CAPS acronyms and mixed-case brand
  names (LinkedIn, iOS) are always skipped.
- The words of the company, role title, candidate's and contacts' names are known.
- British spellings the dictionary lacks (prioritise, organisation, favour, centre,
  licence, programme…) are accepted when their American form is known.
- Line breaks end sentences, so a greeting or sign-off line never lengthens one.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from spellchecker import SpellChecker

from app.policy.vocabulary import BRITISH_ENDINGS, EXTRA_WORDS

MAX_SENTENCE_WORDS: Final = 40
SIGN_OFF_MAX_WORDS: Final = 5
MAX_SUGGESTIONS: Final = 3
MAX_PER_KIND: Final = 25
"""At most this many problems of one kind per field, so a garbled text stays readable."""
_EXCERPT: Final = 80


class ProblemKind(StrEnum):
    SPELLING = "spelling"
    DOUBLED_WORD = "doubled_word"
    MISSING_GREETING = "missing_greeting"
    MISSING_SIGN_OFF = "missing_sign_off"
    LONG_SENTENCE = "long_sentence"


PROBLEM_KINDS: Final[dict[ProblemKind, str]] = {
    ProblemKind.SPELLING: "a word the dictionary does not know; `suggestions` lists up to "
    f"{MAX_SUGGESTIONS} likely corrections (possibly none)",
    ProblemKind.DOUBLED_WORD: 'the same word twice in a row, e.g. "the the"',
    ProblemKind.MISSING_GREETING: "an email whose first non-empty line does not open with a "
    "salutation (Dear, Hi, Hello, Good morning…); `text` is that line",
    ProblemKind.MISSING_SIGN_OFF: "an email with no short closing line (Best regards, Thanks…) "
    "among its last three non-empty lines; `text` is the last line",
    ProblemKind.LONG_SENTENCE: f"a sentence of more than {MAX_SENTENCE_WORDS} words; `words` "
    "is its length",
}
"""What each kind of problem means, for the docs page."""


@dataclass(frozen=True)
class Problem:
    """One proofreading problem, located by field (`subject` or `body`)."""

    kind: ProblemKind
    field: str
    text: str
    suggestions: tuple[str, ...] | None = None
    words: int | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind.value, "field": self.field, "text": self.text}
        if self.suggestions is not None:
            out["suggestions"] = list(self.suggestions)
        if self.words is not None:
            out["words"] = self.words
        return out


def proofread(
    subject: str | None,
    body: str | None,
    *,
    is_email: bool,
    known_words: Iterable[str] = (),
) -> list[Problem]:
    """Every problem in the subject, then the body; greeting and sign-off for emails only."""
    known = names_vocabulary(known_words)
    problems: list[Problem] = []
    for field, text in (("subject", subject), ("body", body)):
        if text and text.strip():
            lines = _normalise(text).splitlines()
            problems += _spelling(field, lines, known)
            problems += _doubled_words(field, lines)
            problems += _long_sentences(field, lines)
    if is_email:
        problems += _letter_shape(_normalise(body or "").splitlines())
    return problems


def names_vocabulary(texts: Iterable[str]) -> frozenset[str]:
    """Lower-case words of proper names (company, role, people) to treat as known."""
    words: set[str] = set()
    for text in texts:
        for token in _WORD.findall(_normalise(text)):
            lower = token.lower()
            words.add(lower)
            words.update(part for part in lower.split("-") if part)
    return frozenset(words)


# --- text handling ---------------------------------------------------------------

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
_CHUNK = re.compile(r"\S+")
_SKIPPED_CHUNK = re.compile(
    r"""^[("'\[]*(?:
        [#@]                                   # hashtags and handles
      | [a-z][a-z0-9+.-]*://                   # URLs with a scheme
      | www\.
      | [^\s@]+@[^\s@]+                        # e-mail addresses
      | (?:[a-z0-9-]+\.)+[a-z]{2,}(?:[/:?#]\S*)?[)"'\].,;:!?]*$   # bare domains
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_SENTENCE_END = re.compile(r"[.!?:][)\"'\]]*$")
_NOT_SENTENCE_ENDS: Final = frozenset({"mr.", "mrs.", "ms.", "dr.", "prof.", "e.g.", "i.e."})
"""Abbreviations whose full stop is usually followed by a name or more of the sentence."""


def _normalise(text: str) -> str:
    return text.translate(_APOSTROPHES)


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1].rstrip() + "…"


def _words(lines: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """Word parts to spell-check, each with whether it starts a sentence or line."""
    for line in lines:
        at_start = True
        for chunk in _CHUNK.findall(line):
            if not _SKIPPED_CHUNK.match(chunk):
                for token in _WORD.findall(chunk):
                    for part in token.split("-"):
                        yield part, at_start
                        at_start = False
            at_start = bool(_SENTENCE_END.search(chunk)) and (
                chunk.lower().lstrip("(\"'") not in _NOT_SENTENCE_ENDS
            )


# --- spelling --------------------------------------------------------------------

_CONTRACTION_ENDINGS: Final = ("'s", "n't", "'ll", "'ve", "'re", "'d", "'m")


@functools.cache
def _speller() -> SpellChecker:
    """The English dictionary, loaded once (bundled with pyspellchecker; nothing downloaded)."""
    return SpellChecker(language="en", distance=1)


def _forms(lower: str) -> tuple[str, ...]:
    """The word and the spellings that would make it acceptable if the dictionary knows them."""
    forms = [lower]
    plain = "".join(c for c in unicodedata.normalize("NFKD", lower) if not unicodedata.combining(c))
    if plain != lower:
        forms.append(plain)
    for ending in _CONTRACTION_ENDINGS:
        if plain.endswith(ending) and len(plain) > len(ending):
            forms.append(plain[: -len(ending)])
            break
    for british, american in BRITISH_ENDINGS:
        if plain.endswith(british):
            forms.append(plain[: -len(british)] + american)
    return tuple(forms)


_DIGIT = re.compile(r"\d")


def _needs_check(text: str, at_sentence_start: bool) -> bool:
    if len(text) < 2 or _DIGIT.search(text):
        return False
    if text.isupper():
        return False  # an acronym
    tail = text[1:]
    if tail != tail.lower():
        return False  # LinkedIn, iOS, McKenzie
    return at_sentence_start or not text[0].isupper()


@functools.lru_cache(maxsize=65536)
def _is_misspelled(lower: str) -> bool:
    """No acceptable form of the word is in the dictionary (cached: emails repeat words)."""
    forms = _forms(lower)
    return len(_speller().unknown(forms)) == len(set(forms))


def _spelling(field: str, lines: list[str], known: frozenset[str]) -> list[Problem]:
    first_seen: dict[str, str] = {}
    for text, at_start in _words(lines):
        if _needs_check(text, at_start):
            first_seen.setdefault(text.lower(), text)
    misspelled = [
        lower
        for lower in first_seen
        if lower not in known and lower not in EXTRA_WORDS and _is_misspelled(lower)
    ]
    return [
        Problem(
            kind=ProblemKind.SPELLING,
            field=field,
            text=first_seen[lower],
            suggestions=_match_case(first_seen[lower], suggestions(lower)),
        )
        for lower in misspelled[:MAX_PER_KIND]
    ]


@functools.lru_cache(maxsize=4096)
def suggestions(lower: str) -> tuple[str, ...]:
    """Likely corrections one edit away, most frequent first (cached: this is the slow part)."""
    speller = _speller()
    found = speller.candidates(lower) or set()
    ranked = sorted(found - {lower}, key=lambda w: (-speller.word_frequency[w], w))
    return tuple(ranked[:MAX_SUGGESTIONS])


def _match_case(original: str, words: tuple[str, ...]) -> tuple[str, ...]:
    if original[:1].isupper():
        return tuple(w[:1].upper() + w[1:] for w in words)
    return words


# --- doubled words and long sentences ---------------------------------------------

_DOUBLED = re.compile(r"(?<![\w'-])([^\W\d_]+(?:'[^\W\d_]+)*)[ \t]+(\1)(?![\w'-])", re.IGNORECASE)
_GRAMMATICAL_DOUBLES: Final = frozenset({"had", "that"})
"""Doubles that are usually correct ("he had had", "that that")."""


def _doubled_words(field: str, lines: list[str]) -> list[Problem]:
    problems = [
        Problem(kind=ProblemKind.DOUBLED_WORD, field=field, text=match.group(0))
        for line in lines
        for match in _DOUBLED.finditer(line)
        if match.group(1).lower() not in _GRAMMATICAL_DOUBLES
    ]
    return problems[:MAX_PER_KIND]


_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")
_HAS_WORD = re.compile(r"[^\W_]")


def _long_sentences(field: str, lines: list[str]) -> list[Problem]:
    problems = []
    for line in lines:
        for sentence in _SENTENCE_SPLIT.split(line):
            count = sum(1 for chunk in sentence.split() if _HAS_WORD.search(chunk))
            if count > MAX_SENTENCE_WORDS:
                problems.append(
                    Problem(
                        kind=ProblemKind.LONG_SENTENCE,
                        field=field,
                        text=_excerpt(sentence),
                        words=count,
                    )
                )
    return problems[:MAX_PER_KIND]


# --- greeting and sign-off ----------------------------------------------------------

_GREETING = re.compile(
    r"(?:dear|hi|hello|hey|hiya|howdy|greetings|good\s+(?:morning|afternoon|evening|day)"
    r"|to\s+whom\s+it\s+may\s+concern)\b",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    r"(?:(?:best|kind|kindest|warm|warmest|with\s+kind|many)\s+(?:regards|wishes|thanks)"
    r"|all\s+the\s+best|best|regards|sincerely|yours\s+(?:sincerely|faithfully|truly)"
    r"|many\s+thanks|thanks|thank\s+you|cheers|warmly|respectfully|gratefully"
    r"|with\s+(?:gratitude|thanks|appreciation)|take\s+care|talk\s+soon|speak\s+soon)\b",
    re.IGNORECASE,
)


def _letter_shape(lines: list[str]) -> list[Problem]:
    filled = [line.strip() for line in lines if line.strip()]
    problems = []
    if not filled or not _GREETING.match(filled[0]):
        problems.append(
            Problem(
                kind=ProblemKind.MISSING_GREETING,
                field="body",
                text=_excerpt(filled[0]) if filled else "",
            )
        )
    if not any(_is_sign_off(line) for line in filled[-3:]):
        problems.append(
            Problem(
                kind=ProblemKind.MISSING_SIGN_OFF,
                field="body",
                text=_excerpt(filled[-1]) if filled else "",
            )
        )
    return problems


def _is_sign_off(line: str) -> bool:
    return len(line.split()) <= SIGN_OFF_MAX_WORDS and _SIGN_OFF.match(line) is not None
