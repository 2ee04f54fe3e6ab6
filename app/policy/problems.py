"""The proofreader's findings and the names it is given: its vocabulary of results."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

MAX_SENTENCE_WORDS: Final = 40
MAX_SUGGESTIONS: Final = 3
SIGN_OFF_MAX_WORDS: Final = 5
MAX_PER_KIND: Final = 25
"""At most this many problems of one kind per field, so a garbled text stays readable."""
EXCERPT_CHARS: Final = 80


class ProblemKind(StrEnum):
    SPELLING = "spelling"
    DOUBLED_WORD = "doubled_word"
    MISSING_GREETING = "missing_greeting"
    MISSING_SIGN_OFF = "missing_sign_off"
    LONG_SENTENCE = "long_sentence"


PROBLEM_KINDS: Final[dict[ProblemKind, str]] = {
    ProblemKind.SPELLING: "a likely misspelling: a word no dictionary knows that has a "
    "correction, a near miss of the company's or a contact's name, a greeting to a name one "
    f'letter from a contact\'s, or a lower-case "i"; `suggestions` lists up to '
    f"{MAX_SUGGESTIONS} corrections, the intended name for names",
    ProblemKind.DOUBLED_WORD: 'the same word twice in a row, e.g. "the the"',
    ProblemKind.MISSING_GREETING: "an email whose first non-empty line does not open with a "
    "salutation (Dear, Hi, Hello, Good morning…) or a contact's name; `text` is that line",
    ProblemKind.MISSING_SIGN_OFF: "an email with no sign-off (a closing line such as Best "
    "regards, Cheers or Thanks, or any line of at most five words ending with a comma) "
    "followed only by signature lines; `text` is the last line",
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


@dataclass(frozen=True)
class Names:
    """The interview's proper names: all are known words; the company's and the contacts'
    are also what a near-miss capitalised word is compared with."""

    company: str = ""
    role_title: str = ""
    candidate: str = ""
    contacts: tuple[str, ...] = ()
