"""Spelling: the words of a message, what it may say (names, the account's words, the
dictionaries), and which words are likely slips, including near misses of names."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import compress, count
from operator import not_
from typing import TYPE_CHECKING, Final

from app.policy.problems import (
    EXCERPT_CHARS,
    MAX_PER_KIND,
    MAX_SUGGESTIONS,
    Names,
    Problem,
    ProblemKind,
)
from app.policy.vocabulary import Lexicon, lexicon, single_letters
from app.policy.wording import LETTERS, TITLES, WORD, in_english

if TYPE_CHECKING:
    from app.policy.letter import Letter


# --- what this message may say -----------------------------------------------------

_MIN_TARGET = 4
"""A name word shorter than this is too close to too many others to judge near misses."""


@dataclass(frozen=True)
class Context:
    extra: frozenset[str]
    """Lower-case words known for this message: names and the account's words."""
    targets: tuple[str, ...]
    """Words of the company's and contacts' names, as spelt there."""
    contact_words: tuple[str, ...]
    lexicon: Lexicon

    @classmethod
    def build(cls, names: Names, known_words: frozenset[str]) -> Context:
        """Cached: an interview's names and an account's words stay the same from one
        message to the next."""
        return _context(names, known_words)

    def knows(self, lower: str) -> bool:
        """Whether a lower-case word, or the stem it is a form of, is known."""
        return _known(lower, self.extra, self.lexicon)


@functools.lru_cache(maxsize=256)
def _context(names: Names, known_words: frozenset[str]) -> Context:
    all_names = (names.company, names.role_title, names.candidate, *names.contacts)
    return Context(
        extra=_words_of(frozenset(all_names)) | _words_of(known_words),
        targets=_spellings([names.company, *names.contacts]),
        contact_words=_spellings(names.contacts),
        lexicon=lexicon(),
    )


@functools.lru_cache(maxsize=256)
def _words_of(texts: frozenset[str]) -> frozenset[str]:
    """Lower-case words (and hyphenated parts) of names or an account's known words;
    cached, since an account's list of up to 1,000 words rarely changes."""
    words: set[str] = set()
    for text in texts:
        lower = normalise(text).lower()
        words.add(lower)
        for token in WORD.findall(lower):
            words.add(token)
            words.update(part for part in token.split("-") if part)
    return frozenset(words)


def _spellings(texts: Iterable[str]) -> tuple[str, ...]:
    words: dict[str, None] = {}
    for text in texts:
        for token in WORD.findall(normalise(text)):
            for part in token.split("-"):
                if len(part) >= _MIN_TARGET - 1 and part[0].isupper():
                    words.setdefault(part, None)
    return tuple(words)


_CONTRACTIONS: Final = ("'s", "n't", "'ll", "'ve", "'re", "'d", "'m", "'")
_PLURALS: Final = ("s", "es")
"""Plurals of the names and account words ("Kubeflows"); the lexicon knows its own."""


def _known(lower: str, extra: frozenset[str], lexicon: Lexicon) -> bool:
    if lower in extra or lower in lexicon.known or _listed(lower, lexicon):
        return True
    plain = _without_accents(lower)
    if plain in extra:
        return True
    for ending in _CONTRACTIONS + _PLURALS:
        stem = plain.removesuffix(ending)
        if stem != plain and len(stem) >= 2 and stem in extra:
            return True
    return False


@functools.lru_cache(maxsize=4096)
def _listed(lower: str, lexicon: Lexicon) -> bool:
    """The dictionaries' part of `_known`: the word, without accents, or the stem of a
    contraction or possessive. Cached, since the same unknown words recur."""
    if lexicon.knows(lower):
        return True
    plain = _without_accents(lower)
    if plain != lower and lexicon.knows(plain):
        return True
    for ending in _CONTRACTIONS:
        stem = plain.removesuffix(ending)
        if stem != plain and len(stem) >= 2 and lexicon.knows(stem):
            return True
    return False


def _without_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# --- text handling ---------------------------------------------------------------

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
SKIPPED_CHUNK = re.compile(
    r"""^[("'\[<]*(?:
        [#@]                                   # hashtags and handles
      | [a-z][a-z0-9+.-]*://                   # URLs with a scheme
      | www\.
      | [^\s@]+@[^\s@]+                        # e-mail addresses
      | (?:[a-z0-9-]+\.)+[a-z]{2,}(?:[/:?#]\S*)?[)"'\]>.,;:!?]*$   # bare domains, file names
    )""",
    re.IGNORECASE | re.VERBOSE,
)
LABEL = re.compile(r"\s*[^\W\d_][\w.&/-]*(?: [\w.&/-]+){0,2}:(?=\s|$)")
"""A label at the start of a line: "Tel:", "Mob:", "E-mail:", "Re:"."""
_ABBREVIATION = re.compile(r"[^\W\d_](?:\.[^\W\d_])+\.?")
"""Dotted abbreviations (i.e., e.g., a.m.), whose single letters are not words and whose
full stop ends no sentence."""
_NOT_SENTENCE_ENDS: Final = frozenset({"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs."})
"""Abbreviations whose full stop is usually followed by a name or more of the sentence."""
_HAS_WORD = re.compile(r"[^\W_]")
DIGIT = re.compile(r"\d")


def normalise(text: str) -> str:
    return text if text.isascii() else text.translate(_APOSTROPHES)


def excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1].rstrip() + "…"


_Token = tuple[str, bool, bool, int, int]
"""A word to check; whether it starts a sentence; whether it addresses a person (a name
in the greeting line, or right after a title: "Ms Brookes"); its position in the text;
its shape (`_shape`)."""
_LIST_MARKER = re.compile(r"\(?[ivx]{1,4}\)")
"""(i), ii): list markers, not words."""
_CLOSERS = ")\"']"
_AROUND = ",.;:!?()[]\"'"


def _tokens(
    lines: list[str], chunked: list[list[str]], letter: Letter | None, context: Context
) -> list[_Token]:
    """Words to check, each with whether it starts a sentence (never in a signature).

    `chunked` holds each line's `split()`. Known lower-case words are passed over: they
    are most of any text and need no check (a two-letter one only if ordinary, so that
    "ot" is still looked at; never "i"). The dictionary look-ups run over whole lines at
    once, and what a chunk holds is worked out once per chunk (`_words_in`).

    A hyphenated word gives its parts (`_parts`).
    """
    lexicon = context.lexicon
    known, unsure = lexicon.known, _unsure(lexicon)
    tokens: list[_Token] = []
    position = 0
    for index, line in enumerate(lines):
        chunks = chunked[index]
        if not chunks:
            continue
        signature = letter is not None and index in letter.signature
        greeting = letter is not None and index == letter.greeting
        if letter is not None and index == letter.sign_off and not in_english(line):
            continue  # "Diolch a chofion,": a sign-off in another language
        if not greeting and ":" in line and (label := LABEL.match(line)) is not None:
            chunks = chunks[len(label.group().split()) :]  # a label is whole chunks
        if unsure.isdisjoint(chunks):
            unknown: Iterable[bool] = map(not_, map(known.__contains__, chunks))
        else:
            unknown = (chunk not in known or chunk in unsure for chunk in chunks)
        for i in compress(count(), unknown):
            words = _words_in(chunks[i])
            if not words:
                continue
            if i:
                ends, title = _follows(chunks[i - 1])
                if ends is None:
                    ends = _starts_sentence(chunks, i - 1)
            else:
                ends, title = True, False
            start = ends and not signature
            addressed = greeting or title
            at = position + i
            for word, shape in words:
                if "-" in word:
                    tokens += _parts(word, start, addressed, at, context)
                else:
                    tokens.append((word, start, addressed, at, shape))
                start = False
        position += len(chunks)
    return tokens


def _parts(word: str, start: bool, addressed: bool, at: int, context: Context) -> list[_Token]:
    """A hyphenated word's parts to check: none when the compound is known as a whole
    ("scikit-learn") or joined up ("e-mail"), else each part ("well-knwon")."""
    lower = word.lower()
    if context.knows(lower) or context.knows(lower.replace("-", "")):
        return []
    return [
        (part, start and number == 0, addressed, at, _shape(part))
        for number, part in enumerate(word.split("-"))
        if part
    ]


@functools.cache
def _unsure(lexicon: Lexicon) -> frozenset[str]:
    """Known words `_tokens` still looks at: two-letter words that are not ordinary ones
    ("ot"), and "i" with its contractions."""
    ordinary = lexicon.lower_case
    return frozenset(
        word
        for word in lexicon.known
        if (len(word) < 3 and word not in ordinary) or word[:2] in ("i", "i'")
    )


@functools.lru_cache(maxsize=8192)
def _words_in(chunk: str) -> tuple[tuple[str, int], ...]:
    """The words to check in a chunk that is not a plain known word: none in a known word
    before a comma or a full stop, a URL, an address, a handle, a list marker or a dotted
    abbreviation. Cached, since the same chunks recur from one message to the next (the
    dictionaries are the process's one `lexicon()`)."""
    if chunk.isalpha():
        return ((chunk, _shape(chunk)),)
    core = chunk.strip(_AROUND)
    if len(core) > 2 and core[0] != "i" and core in lexicon().known:
        return ()
    if not _HAS_WORD.search(chunk) or SKIPPED_CHUNK.match(chunk):
        return ()
    if _LIST_MARKER.fullmatch(chunk) or _ABBREVIATION.fullmatch(core):
        return ()
    return tuple((word, _shape(word)) for word in WORD.findall(chunk))


_SKIPPED, _LOWER_I, _LOWER, _ORDINARY, _KNOWN, _UNKNOWN = range(6)
"""A word's shape: one to skip (a number, an acronym or a brand: Q3, LinkedIn, iOS), a
lower-case "i", a lower-case word, or a capitalised one that is an ordinary word, another
known word (a name: "Tuesday", "Katherine"), or no known word."""


@functools.lru_cache(maxsize=8192)
def _shape(word: str) -> int:
    """What `spelling_problems` checks in a word, judged from its letters and the
    dictionaries alone; cached, since words recur."""
    if not word.isalpha() and DIGIT.search(word):
        return _SKIPPED
    if word[0] == "i" and _is_i(word):
        return _LOWER_I
    if word.islower():
        return _LOWER
    if not (word[0].isupper() and word[1:].islower()):
        return _SKIPPED
    lower = word.lower()
    if lower in lexicon().lower_case:  # a subset of the known words
        return _ORDINARY
    return _KNOWN if lower in lexicon().known else _UNKNOWN


def _starts_sentence(chunks: list[str], i: int) -> bool:
    """Whether chunk i opens its line or follows the end of a sentence (a dash or bullet
    in between changes nothing)."""
    while i > 0:
        ends = _follows(chunks[i - 1])[0]
        if ends is not None:
            return ends
        i -= 1
    return True


@functools.lru_cache(maxsize=4096)
def _follows(chunk: str) -> tuple[bool | None, bool]:
    """What a chunk says about the next one: whether it ends a sentence (None for a chunk
    with no word, a dash or a bullet, which changes nothing), and whether it is a title
    ("Ms", "Dr."), making the next word a name that addresses someone. Cached: the same
    chunks recur."""
    title = chunk.rstrip(".").lower() in TITLES
    if not _HAS_WORD.search(chunk):
        return None, title
    ends = (
        chunk.rstrip(_CLOSERS)[-1:] in (".", "!", "?", ":")
        and chunk.lower().lstrip("(\"'") not in _NOT_SENTENCE_ENDS
        and not _ABBREVIATION.fullmatch(chunk.strip(_AROUND))
    )
    return ends, title


# --- spelling --------------------------------------------------------------------

_LONE_I = re.compile(r"i(?:'(?:m|ve|ll|d))?")


def _is_i(word: str) -> bool:
    """A lower-case "i", alone or in "i'm", "i've", "i'll" or "i'd"."""
    return word[0] == "i" and _LONE_I.fullmatch(word) is not None


def spelling_problems(
    field: str, lines: list[str], chunked: list[list[str]], context: Context, letter: Letter | None
) -> list[Problem]:
    """Likely misspellings among the lines (`chunked` holds each line's `split()`)."""
    tokens = _tokens(lines, chunked, letter, context)
    extra = context.extra
    # Words used mid-sentence, and whether the text is a title-case headline: needed only
    # for a capitalised word that nothing knows, so worked out at the first one.
    layout: tuple[set[str], bool] | None = None
    problems: list[Problem] = []
    reported: set[str] = set()
    checked: set[tuple[str, bool, bool]] = set()
    for index, (text, start, addressed, _, shape) in enumerate(tokens):
        if shape == _SKIPPED or text in reported:
            continue
        if shape == _LOWER_I:
            found: tuple[str, ...] | None = ("I" + text[1:],)
        elif shape == _LOWER:
            found = _two_letters(text, context) if len(text) == 2 else _misspelt(text, context)
        elif shape == _ORDINARY or (shape == _KNOWN and not addressed) or text.lower() in extra:
            continue  # known as it stands, and no contact's name misspelt: nothing to find
        else:
            if layout is None:
                layout = (
                    {word for word, first, named, *_ in tokens if not first and not named},
                    letter is None and _title_case(lines),
                )
            mid_sentence, headline = layout
            starts = headline or (
                start and text not in mid_sentence and not _name_follows(tokens, index)
            )
            if (text, starts, addressed) in checked:
                continue  # the same word in the same position was fine before
            checked.add((text, starts, addressed))
            found = _misspelt_capitalised(text, context, addressed, starts)
        if found is not None:
            reported.add(text)
            problems.append(
                Problem(kind=ProblemKind.SPELLING, field=field, text=text, suggestions=found)
            )
    return problems[:MAX_PER_KIND]


def _title_case(lines: list[str]) -> bool:
    """A subject in title case ("Thank You for the Opportunity"), where a capital says
    nothing about a word being a name."""
    words = [word for line in lines for word in LETTERS.findall(line) if len(word) > 2]
    capitalised = sum(1 for word in words if word[0].isupper() and word[1:].islower())
    return len(words) >= 3 and capitalised >= 0.75 * len(words)


def _name_follows(tokens: list[_Token], index: int) -> bool:
    """The next word is capitalised mid-sentence, as in a full name ("Dara Khan said")."""
    if index + 1 >= len(tokens):
        return False
    text, start, _, position, _ = tokens[index + 1]
    return position == tokens[index][3] + 1 and not start and text[:1].isupper()


def _misspelt_capitalised(
    text: str, context: Context, addressed: bool, sentence_start: bool
) -> tuple[str, ...] | None:
    """Names are only judged against the interview's; other capitalised words only at the
    start of a sentence, where a capital says nothing about being a name."""
    intended = _wrong_name_addressed(text, context) if addressed else None
    intended = intended or _near_miss_name(text, context)
    if intended is not None:
        return (intended,)
    if not sentence_start:
        return None
    found = _misspelt(text.lower(), context, name_like=True)
    return None if found is None else tuple(w[:1].upper() + w[1:] for w in found)


_SHORT_NAME: Final = 5
"""A capitalised word shorter than this that opens a sentence is as likely a name (Dara,
Lior) as a typo, so only two swapped letters ("Teh") count as a slip there."""
_SHORT_WORDS: Final = frozenset(
    {"an", "as", "at", "be", "by", "do", "go", "he", "if", "in", "is", "it", "me", "my", "no",
     "of", "on", "or", "so", "to", "up", "us", "we"}
)  # fmt: skip
"""The two-letter words whose reversal ("ot", "fo") is a typing slip worth reporting."""
_VOWELS: Final = frozenset("aeiouy")


def _misspelt(lower: str, context: Context, *, name_like: bool = False) -> tuple[str, ...] | None:
    """Corrections for an unknown word. A correction keeps the first letter, unless it
    swaps the first two: typos rarely touch the first letter, names and jargon often
    differ there from an ordinary word ("Ciara", "tiara").

    A capitalised word opening a sentence may be a name or a brand ("Monzo", "Webex"), so
    there only the classic slips count: two letters swapped, one vowel for another, a
    letter doubled or not, a letter moved ("Thnaks", "Definately", "Untill"), and in a
    word shorter than five letters only a swap.
    """
    if len(lower) < 3 or context.knows(lower):
        return None
    return _corrections(_without_accents(lower), context.lexicon, name_like)


@functools.lru_cache(maxsize=2048)
def _corrections(plain: str, lexicon: Lexicon, name_like: bool) -> tuple[str, ...] | None:
    """`_misspelt`'s search of the dictionaries; cached, since it tries hundreds of
    edits and the same unknown words recur."""
    found = tuple(
        word
        for word in lexicon.candidates(plain)
        if (word[0] == plain[0] or _swapped(plain, word))
        and (not name_like or _classic_slip(plain, word))
    )
    if not name_like:
        found = _run_together(plain, lexicon) + found
    return found[:MAX_SUGGESTIONS] or None


def _classic_slip(typed: str, word: str) -> bool:
    if _swapped(typed, word):
        return True
    if len(typed) < _SHORT_NAME:
        return False
    if single_letters(typed) == single_letters(word):
        return True
    if len(typed) != len(word):
        return False
    differ = [i for i, (a, b) in enumerate(zip(typed, word, strict=True)) if a != b]
    if len(differ) == 1:
        return {typed[differ[0]], word[differ[0]]} <= _VOWELS
    return sorted(typed) == sorted(word) and differ[-1] - differ[0] <= 2


def _two_letters(lower: str, context: Context) -> tuple[str, ...] | None:
    """A two-letter word is a slip only as a common one typed backwards ("ot", "fo")."""
    swapped = lower[::-1]
    if swapped not in _SHORT_WORDS or lower in context.lexicon.lower_case or lower in context.extra:
        return None
    return (swapped,)


_JOINED_FIRST: Final = ("a", "all", "any", "as", "at", "each", "every", "in", "no", "thank")
"""Words often run into the next one by mistake: alot, aswell, infact, eachother, thankyou."""


def _run_together(word: str, lexicon: Lexicon) -> tuple[str, ...]:
    for first in _JOINED_FIRST:
        rest = word[len(first) :]
        if word.startswith(first) and len(rest) >= 3 and rest in lexicon.lower_case:
            return (f"{first} {rest}",)
    return ()


def _swapped(a: str, b: str) -> bool:
    """b is a with two neighbouring letters swapped."""
    if len(a) != len(b):
        return False
    differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(differ) != 2 or differ[1] != differ[0] + 1:
        return False
    return a[differ[0]] == b[differ[1]] and a[differ[1]] == b[differ[0]]


# --- names -------------------------------------------------------------------------


def _near_miss_name(text: str, context: Context) -> str | None:
    """The company or contact name word a capitalised unknown word is probably meant as."""
    if not context.targets or len(text) < _MIN_TARGET - 1:
        return None
    lower = text.lower()
    if context.knows(lower):
        return None
    stem = lower.removesuffix("'s")
    for target in context.targets:
        if len(target) < _MIN_TARGET:
            continue
        limit = 1 if len(target) < 6 else 2
        distance = _distance(stem, target.lower(), limit)
        if distance == 0:
            return None
        if distance == 1 or (distance <= limit and stem[0] == target[0].lower()):
            return target
    return None


def _wrong_name_addressed(text: str, context: Context) -> str | None:
    """A person greeted or titled by a name one edit from a contact's (two for a name of
    seven letters or more, keeping its first letter), when it is no name of the
    interview's: "Dear Katherine" to Catherine, "Ms Brookes", "Dear Carolyn" to Caroline."""
    lower = text.lower()
    if lower in context.extra or lower in context.lexicon.lower_case or len(text) < 3:
        return None
    for target in context.contact_words:
        limit = 2 if len(target) >= _LONG_NAME and target[0].lower() == lower[0] else 1
        if _distance(lower, target.lower(), limit) <= limit:
            return target
    return None


_LONG_NAME: Final = 7


def _distance(a: str, b: str, limit: int) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from a to b, or limit + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)
