"""The shape of a message: doubled words, overlong sentences, and for emails the
greeting, sign-off and signature."""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Final

from app.policy.problems import (
    MAX_PER_KIND,
    MAX_SENTENCE_WORDS,
    SIGN_OFF_MAX_WORDS,
    Problem,
    ProblemKind,
)
from app.policy.spelling import DIGIT, LABEL, SKIPPED_CHUNK, Context, excerpt
from app.policy.wording import CLOSINGS, TITLES, WORD

# --- doubled words and long sentences ---------------------------------------------

_DOUBLED = re.compile(r"(?<![\w'-])([^\W\d_]+(?:'[^\W\d_]+)*)[ \t]+(\1)(?![\w'-])", re.IGNORECASE)
_GRAMMATICAL_DOUBLES: Final = frozenset({"had", "that"})
"""Doubles that are usually correct ("he had had", "that that")."""


_PUNCTUATION_TO_SPACE = str.maketrans(dict.fromkeys(',.;:!?()[]{}"', " "))
_ASCII_TO_SPACE = bytes.maketrans(
    b'ABCDEFGHIJKLMNOPQRSTUVWXYZ,.;:!?()[]{}"\x1c\x1d\x1e\x1f',
    b"abcdefghijklmnopqrstuvwxyz" + b" " * 17,
)
"""`_PUNCTUATION_TO_SPACE` after `str.lower()`, for ASCII bytes."""


def doubled_words(field: str, lines: list[str]) -> list[Problem]:
    """The same word twice in a row. The quick test runs over all lines at once first: it
    only passes more text (a pair across a line break), and nearly every text fails it."""
    if not _may_double("\n".join(lines)):
        return []
    problems = [
        Problem(kind=ProblemKind.DOUBLED_WORD, field=field, text=match.group(0))
        for line in lines
        if _may_double(line)
        for match in _DOUBLED.finditer(line)
        if match.group(1).lower() not in _GRAMMATICAL_DOUBLES
    ]
    return problems[:MAX_PER_KIND]


def _may_double(line: str) -> bool:
    """A quick test that spares most lines the slower doubled-word search. An ASCII line is
    tested as bytes, which is quicker and splits the same (`_ASCII_TO_SPACE` also turns the
    separators that only `str.split()` knows into spaces)."""
    if line.isascii():
        ascii_words = line.encode().translate(_ASCII_TO_SPACE).split()
        return any(map(operator.eq, ascii_words, ascii_words[1:]))
    words = line.lower().translate(_PUNCTUATION_TO_SPACE).split()
    return any(map(operator.eq, words, words[1:]))


_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")
_WORDLESS = re.compile(r"(?<!\S)[^\w\s]+(?!\S)")
"""A dash, an ampersand or a bullet standing alone: not a word."""


def long_sentences(field: str, lines: list[str]) -> list[Problem]:
    problems = []
    for line in lines:
        if _surely_short(line) or len(line.split()) <= MAX_SENTENCE_WORDS:
            continue
        for sentence in _SENTENCE_SPLIT.split(line):
            words = sentence.split()
            if len(words) <= MAX_SENTENCE_WORDS:
                continue
            count = len(words) - len(_WORDLESS.findall(sentence))
            if count > MAX_SENTENCE_WORDS:
                problems.append(
                    Problem(
                        kind=ProblemKind.LONG_SENTENCE,
                        field=field,
                        text=excerpt(sentence),
                        words=count,
                    )
                )
    return problems[:MAX_PER_KIND]


def _surely_short(line: str) -> bool:
    """Whether no sentence of the line can be over the limit, told by counting spaces: when
    the space is a line's only white space (as in nearly every line), a sentence has at
    most one word more than it has spaces. Splitting only at ". " joins sentences ending
    with "!" or "?" (or a full stop before more spaces) to the next, which can only
    overestimate. Spares most lines splitting into words.

    41 words take at least 81 characters, so shorter lines need no counting at all.
    """
    if len(line) <= 2 * MAX_SENTENCE_WORDS:
        return True
    if line.isascii():
        if any(map(line.__contains__, _OTHER_ASCII_SPACES)):
            return False
    elif not line.isprintable():  # the other white space is not printable
        return False
    return max([part.count(" ") for part in line.split(". ")]) < MAX_SENTENCE_WORDS


_OTHER_ASCII_SPACES: Final = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f"
"""The ASCII characters besides the space that `str.split()` splits at."""


# --- greeting, sign-off and signature ----------------------------------------------

_GREETING = re.compile(
    r"(?:dear|hi|hello|hey|hiya|howdy|greetings|good\s+(?:morning|afternoon|evening|day)"
    r"|morning|afternoon|evening|to\s+whom\s+it\s+may\s+concern|to\s+the)\b",
    re.IGNORECASE,
)
_CLOSING_OPENINGS: Final = CLOSINGS | {"looking forward", "i look forward", "hoping to"}
_LONG_SIGN_OFF_WORDS: Final = 8
_PHONE = re.compile(r"[+(]?\d[\d\s().+/-]{5,}\d(?:\s*(?:ext\.?|x)\s*\d+)?")
_SIGNATURE_ENDINGS: Final = frozenset(
    {"ltd.", "inc.", "co.", "corp.", "jr.", "sr.", "plc.", "llc."}
)
_MAX_SIGNATURE_LINES: Final = 10
_DISCLAIMER = re.compile(r"\bconfidential|intended (?:solely )?for|\bbefore printing")
"""The notices mail systems append after a signature."""
_MAX_SIGNATURE_WORDS: Final = 10
_ADDRESS_MARKS: Final = frozenset(".:@#")
"""Every URL, e-mail address, handle, hashtag and domain (`SKIPPED_CHUNK`) holds one."""


def _disclaimer(lowered: str) -> bool:
    """`_DISCLAIMER` searched only in lines holding one of its phrases' words."""
    if "confidential" not in lowered and "intended " not in lowered and "printing" not in lowered:
        return False
    return _DISCLAIMER.search(lowered) is not None


@dataclass(frozen=True)
class Letter:
    """Where an email-shaped text has its greeting, sign-off and signature (line indexes)."""

    greeting: int | None
    sign_off: int | None
    signature: frozenset[int]

    @classmethod
    def read(cls, lines: list[str], context: Context) -> Letter:
        filled = [i for i, line in enumerate(lines) if line.strip()]
        if not filled:
            return cls(None, None, frozenset())
        first = filled[0]
        greeting = first if _is_greeting(lines[first], context) else None
        trailing: list[int] = []
        for index in reversed(filled[1:]):
            line = lines[index].strip()
            if _is_sign_off(line):
                return cls(greeting, index, frozenset(trailing))
            if len(trailing) == _MAX_SIGNATURE_LINES or not _is_signature_line(line):
                break
            trailing.append(index)
        return cls(greeting, None, frozenset())


def _is_greeting(line: str, context: Context) -> bool:
    line = line.strip()
    if _GREETING.match(line):
        return True
    words = [w for w in WORD.findall(line) if w.lower() not in TITLES]
    return (
        0 < len(words) <= 3
        and line[-1:] in ",:!—–-"
        and all(w in context.contact_words for w in words)
    )


def _is_sign_off(line: str) -> bool:
    """At most five words ending with a comma, or a closing phrase, maybe with a name.

    A longer line ending with a comma also counts when it opens like a closing ("Thank
    you for your time and consideration,", "Looking forward to hearing from you,").
    """
    words = line.split()
    if not words or len(words) > _LONG_SIGN_OFF_WORDS:
        return False
    if line.endswith(","):
        return len(words) <= SIGN_OFF_MAX_WORDS or _opens_like_closing(list(map(_plain, words)))
    if len(words) > SIGN_OFF_MAX_WORDS or _plain(words[0]) not in _CLOSING_FIRST_WORDS:
        return False
    plain = list(map(_plain, words))
    for size in range(len(words), 0, -1):
        if " ".join(plain[:size]) in CLOSINGS:
            rest = [word for word in words[size:] if word.strip(",-–—")]
            return all(word[0].isupper() for word in rest)
    return False


def _plain(word: str) -> str:
    return word.strip(",.!-–—").lower()


_CLOSING_FIRST_WORDS: Final = frozenset(phrase.split()[0] for phrase in CLOSINGS)
"""A closing phrase starts the line only if its first word does."""


def _opens_like_closing(plain: list[str]) -> bool:
    return any(" ".join(plain[:size]) in _CLOSING_OPENINGS for size in (1, 2, 3))


def _is_signature_line(line: str) -> bool:
    """A name, title, company, phone number, address, URL or labelled line: short, not
    ending like a sentence, and opening with a capital, a number, an address or a label.
    A postscript, "Sent from my phone" and a confidentiality notice may follow them."""
    if (":" in line and LABEL.match(line)) or _PHONE.fullmatch(line):
        return True
    lowered = line.lower()
    if lowered.startswith(("p.s.", "ps ", "ps:", "sent from")) or _disclaimer(lowered):
        return True
    chunks = line.replace("|", " ").replace("·", " ").replace("•", " ").split()
    if not chunks or len(chunks) > _MAX_SIGNATURE_WORDS:
        return False
    last = chunks[-1].lower()
    if last[-1] in ".!?" and last not in _SIGNATURE_ENDINGS and len(last) > 2:
        return False
    for chunk in chunks:
        if DIGIT.search(chunk) or "/" in chunk:
            continue
        if not _ADDRESS_MARKS.isdisjoint(chunk) and SKIPPED_CHUNK.match(chunk):
            continue
        word = chunk.strip("()[],;:\"'-–—")
        if word:
            return word[0].isupper() or len(word) <= 2  # "m." or "e:" may label a number
    return True


def letter_shape(lines: list[str], letter: Letter) -> list[Problem]:
    filled = [line.strip() for line in lines if line.strip()]
    problems = []
    if letter.greeting is None:
        problems.append(
            Problem(
                kind=ProblemKind.MISSING_GREETING,
                field="body",
                text=excerpt(filled[0]) if filled else "",
            )
        )
    if letter.sign_off is None:
        problems.append(
            Problem(
                kind=ProblemKind.MISSING_SIGN_OFF,
                field="body",
                text=excerpt(filled[-1]) if filled else "",
            )
        )
    return problems


_QUOTE_START = re.compile(
    r"\s*(?:>|on\b.{0,200}\bwrote:\s*$|wrote:\s*$|-{2,}\s*(?:original|forwarded) message)",
    re.IGNORECASE,
)
_HEADER = re.compile(r"(?:from|sent|date|to|subject):\s", re.IGNORECASE)


def own_words(lines: list[str]) -> list[str]:
    """The lines before a quoted earlier message ("On … wrote:", "> …", a forwarded or
    original message's headers): the rest is someone else's writing."""
    for index, line in enumerate(lines[1:], 1):
        if ">" not in line and ":" not in line and "--" not in line:
            continue  # no quote marker or header can match
        headers = index + 1 < len(lines) and _HEADER.match(lines[index + 1])
        if _QUOTE_START.match(line) or (
            _HEADER.match(line) and headers and not lines[index - 1].strip()
        ):
            return lines[:index]
    return lines
