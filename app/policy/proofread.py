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

import functools
import operator
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from app.policy.vocabulary import Lexicon, lexicon, single_letters

MAX_SENTENCE_WORDS: Final = 40
MAX_SUGGESTIONS: Final = 3
SIGN_OFF_MAX_WORDS: Final = 5
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


@dataclass(frozen=True)
class Example:
    """One of the proofreader's rules with a message showing it, for the docs page (which
    prints what `proofread` really reports for it)."""

    rule: str
    text: str
    names: Names = Names()
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
    names: Names = Names(),
    known_words: Iterable[str] = (),
) -> list[Problem]:
    """Every problem in the subject, then the body; greeting and sign-off for emails only.

    `known_words` (the account's, any case) extend the dictionary like the names do.
    """
    context = _Context.build(names, frozenset(known_words))
    body_lines = _own_words(_normalise(body or "").splitlines())
    letter = _Letter.read(body_lines, context)
    problems: list[Problem] = []
    if subject and subject.strip():
        lines = _normalise(subject).splitlines()
        problems += _spelling("subject", lines, context, None)
        problems += _doubled_words("subject", lines)
        problems += _long_sentences("subject", lines)
    if body and body.strip():
        problems += _spelling("body", body_lines, context, letter)
        problems += _doubled_words("body", body_lines)
        problems += _long_sentences("body", body_lines)
    if is_email:
        problems += _letter_shape(body_lines, letter)
    return problems


_QUOTE_START = re.compile(
    r"\s*(?:>|on\b.{0,200}\bwrote:\s*$|wrote:\s*$|-{2,}\s*(?:original|forwarded) message)",
    re.IGNORECASE,
)
_HEADER = re.compile(r"(?:from|sent|date|to|subject):\s", re.IGNORECASE)


def _own_words(lines: list[str]) -> list[str]:
    """The lines before a quoted earlier message ("On … wrote:", "> …", a forwarded or
    original message's headers): the rest is someone else's writing."""
    for index, line in enumerate(lines[1:], 1):
        headers = index + 1 < len(lines) and _HEADER.match(lines[index + 1])
        if _QUOTE_START.match(line) or (
            _HEADER.match(line) and headers and not lines[index - 1].strip()
        ):
            return lines[:index]
    return lines


# --- what this message may say -----------------------------------------------------

_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
_MIN_TARGET = 4
"""A name word shorter than this is too close to too many others to judge near misses."""


@dataclass(frozen=True)
class _Context:
    extra: frozenset[str]
    """Lower-case words known for this message: names and the account's words."""
    targets: tuple[str, ...]
    """Words of the company's and contacts' names, as spelt there."""
    contact_words: tuple[str, ...]
    lexicon: Lexicon

    @classmethod
    def build(cls, names: Names, known_words: frozenset[str]) -> _Context:
        all_names = (names.company, names.role_title, names.candidate, *names.contacts)
        return cls(
            extra=_words_of(frozenset(all_names)) | _words_of(known_words),
            targets=_spellings([names.company, *names.contacts]),
            contact_words=_spellings(names.contacts),
            lexicon=lexicon(),
        )

    def knows(self, lower: str) -> bool:
        """Whether a lower-case word, or the stem it is a form of, is known."""
        return _known(lower, self.extra, self.lexicon)


@functools.lru_cache(maxsize=256)
def _words_of(texts: frozenset[str]) -> frozenset[str]:
    """Lower-case words (and hyphenated parts) of names or an account's known words;
    cached, since an account's list of up to 1,000 words rarely changes."""
    words: set[str] = set()
    for text in texts:
        lower = _normalise(text).lower()
        words.add(lower)
        for token in _WORD.findall(lower):
            words.add(token)
            words.update(part for part in token.split("-") if part)
    return frozenset(words)


def _spellings(texts: Iterable[str]) -> tuple[str, ...]:
    words: dict[str, None] = {}
    for text in texts:
        for token in _WORD.findall(_normalise(text)):
            for part in token.split("-"):
                if len(part) >= _MIN_TARGET - 1 and part[0].isupper():
                    words.setdefault(part, None)
    return tuple(words)


_CONTRACTIONS: Final = ("'s", "n't", "'ll", "'ve", "'re", "'d", "'m", "'")
_PLURALS: Final = ("s", "es")
"""Plurals of the names and account words ("Kubeflows"); the lexicon knows its own."""


def _known(lower: str, extra: frozenset[str], lexicon: Lexicon) -> bool:
    if lower in extra or lexicon.knows(lower):
        return True
    plain = _without_accents(lower)
    if plain != lower and (plain in extra or lexicon.knows(plain)):
        return True
    for ending in _CONTRACTIONS + _PLURALS:
        stem = plain.removesuffix(ending)
        if stem == plain or len(stem) < 2:
            continue
        if stem in extra or (ending in _CONTRACTIONS and lexicon.knows(stem)):
            return True
    return False


def _without_accents(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# --- text handling ---------------------------------------------------------------

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_SKIPPED_CHUNK = re.compile(
    r"""^[("'\[<]*(?:
        [#@]                                   # hashtags and handles
      | [a-z][a-z0-9+.-]*://                   # URLs with a scheme
      | www\.
      | [^\s@]+@[^\s@]+                        # e-mail addresses
      | (?:[a-z0-9-]+\.)+[a-z]{2,}(?:[/:?#]\S*)?[)"'\]>.,;:!?]*$   # bare domains, file names
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_LABEL = re.compile(r"\s*[^\W\d_][\w.&/-]*(?: [\w.&/-]+){0,2}:(?=\s|$)")
"""A label at the start of a line: "Tel:", "Mob:", "E-mail:", "Re:"."""
_ABBREVIATION = re.compile(r"[^\W\d_](?:\.[^\W\d_])+\.?")
"""Dotted abbreviations (i.e., e.g., a.m.), whose single letters are not words and whose
full stop ends no sentence."""
_NOT_SENTENCE_ENDS: Final = frozenset({"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs."})
"""Abbreviations whose full stop is usually followed by a name or more of the sentence."""
_HAS_WORD = re.compile(r"[^\W_]")
_DIGIT = re.compile(r"\d")


def _normalise(text: str) -> str:
    return text.translate(_APOSTROPHES)


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1].rstrip() + "…"


_Token = tuple[str, bool, bool, int]
"""A word to check; whether it starts a sentence; whether it addresses a person (a name
in the greeting line, or right after a title: "Ms Brookes"); its position in the text."""
_LIST_MARKER = re.compile(r"\(?[ivx]{1,4}\)")
"""(i), ii): list markers, not words."""
_CLOSERS = ")\"']"
_AROUND = ",.;:!?()[]\"'"


def _tokens(lines: list[str], letter: _Letter | None, lexicon: Lexicon) -> Iterator[_Token]:
    """Words to check, each with whether it starts a sentence (never in a signature).

    Known lower-case words are passed over: they are most of any text and need no check
    (a two-letter one only if ordinary, so that "ot" is still looked at; never "i").
    """
    known, ordinary = lexicon.known, lexicon.lower_case
    position = 0
    for index, line in enumerate(lines):
        signature = letter is not None and index in letter.signature
        greeting = letter is not None and index == letter.greeting
        if letter is not None and index == letter.sign_off and not _in_english(line):
            continue  # "Diolch a chofion,": a sign-off in another language
        if not greeting and (label := _LABEL.match(line)) is not None:
            line = line[label.end() :]
        chunks = line.split()
        distinct = set(chunks)
        suspicious = distinct - known
        suspicious.update(
            chunk
            for chunk in distinct
            if (len(chunk) < 3 and chunk not in ordinary) or chunk[:2] in ("i", "i'")
        )
        for i in [i for i, chunk in enumerate(chunks) if chunk in suspicious]:
            chunk = chunks[i]
            if chunk.isalpha():
                words = [chunk]
            else:
                core = chunk.strip(_AROUND)
                if len(core) > 2 and core[0] != "i" and core in known:
                    continue  # a known word before a comma or a full stop
                if not _HAS_WORD.search(chunk) or _SKIPPED_CHUNK.match(chunk):
                    continue
                if _LIST_MARKER.fullmatch(chunk) or _ABBREVIATION.fullmatch(core):
                    continue
                words = _WORD.findall(chunk)
            at_start = not signature and _starts_sentence(chunks, i)
            addressed = greeting or (i > 0 and chunks[i - 1].rstrip(".").lower() in _TITLES)
            for number, word in enumerate(words):
                yield word, at_start and number == 0, addressed, position + i
        position += len(chunks)


def _starts_sentence(chunks: list[str], i: int) -> bool:
    """Whether chunk i opens its line or follows the end of a sentence (a dash or bullet
    in between changes nothing)."""
    while i > 0 and not _HAS_WORD.search(chunks[i - 1]):
        i -= 1
    if i == 0:
        return True
    before = chunks[i - 1]
    return (
        before.rstrip(_CLOSERS)[-1:] in (".", "!", "?", ":")
        and before.lower().lstrip("(\"'") not in _NOT_SENTENCE_ENDS
        and not _ABBREVIATION.fullmatch(before.strip(_AROUND))
    )


# --- spelling --------------------------------------------------------------------

_LONE_I = re.compile(r"i(?:'(?:m|ve|ll|d))?")


def _is_i(word: str) -> bool:
    """A lower-case "i", alone or in "i'm", "i've", "i'll" or "i'd"."""
    return word[0] == "i" and _LONE_I.fullmatch(word) is not None


def _spelling(
    field: str, lines: list[str], context: _Context, letter: _Letter | None
) -> list[Problem]:
    tokens = list(_parts(_tokens(lines, letter, context.lexicon), context))
    mid_sentence = {text for text, start, addressed, _ in tokens if not start and not addressed}
    headline = letter is None and _title_case(lines)
    problems: list[Problem] = []
    reported: set[str] = set()
    checked: set[tuple[str, bool, bool]] = set()
    for index, (text, start, addressed, _) in enumerate(tokens):
        if text in reported or (not text.isalpha() and _DIGIT.search(text)):
            continue
        if text[0] == "i" and _is_i(text):
            found: tuple[str, ...] | None = ("I" + text[1:],)
        elif text.islower():
            found = _two_letters(text, context) if len(text) == 2 else _misspelt(text, context)
        elif text[0].isupper() and text[1:].islower():
            starts = headline or (
                start and text not in mid_sentence and not _name_follows(tokens, index)
            )
            if (text, starts, addressed) in checked:
                continue  # the same word in the same position was fine before
            checked.add((text, starts, addressed))
            found = _misspelt_capitalised(text, context, addressed, starts)
        else:
            continue  # an acronym or a brand: LinkedIn, iOS
        if found is not None:
            reported.add(text)
            problems.append(
                Problem(kind=ProblemKind.SPELLING, field=field, text=text, suggestions=found)
            )
    return problems[:MAX_PER_KIND]


def _title_case(lines: list[str]) -> bool:
    """A subject in title case ("Thank You for the Opportunity"), where a capital says
    nothing about a word being a name."""
    words = [word for line in lines for word in _LETTERS.findall(line) if len(word) > 2]
    capitalised = sum(1 for word in words if word[0].isupper() and word[1:].islower())
    return len(words) >= 3 and capitalised >= 0.75 * len(words)


def _name_follows(tokens: list[_Token], index: int) -> bool:
    """The next word is capitalised mid-sentence, as in a full name ("Dara Khan said")."""
    if index + 1 >= len(tokens):
        return False
    text, start, _, position = tokens[index + 1]
    return position == tokens[index][3] + 1 and not start and text[:1].isupper()


def _misspelt_capitalised(
    text: str, context: _Context, addressed: bool, sentence_start: bool
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


def _parts(tokens: Iterable[_Token], context: _Context) -> Iterator[_Token]:
    """Hyphenated compounds known as a whole ("scikit-learn") or joined up ("e-mail") are
    dropped; the parts of any other are checked one by one ("well-knwon")."""
    for text, start, addressed, position in tokens:
        if "-" not in text:
            yield text, start, addressed, position
            continue
        lower = text.lower()
        if context.knows(lower) or context.knows(lower.replace("-", "")):
            continue
        for number, part in enumerate(text.split("-")):
            if part:
                yield part, start and number == 0, addressed, position


_SHORT_NAME: Final = 5
"""A capitalised word shorter than this that opens a sentence is as likely a name (Dara,
Lior) as a typo, so only two swapped letters ("Teh") count as a slip there."""
_SHORT_WORDS: Final = frozenset(
    {"an", "as", "at", "be", "by", "do", "go", "he", "if", "in", "is", "it", "me", "my", "no",
     "of", "on", "or", "so", "to", "up", "us", "we"}
)  # fmt: skip
"""The two-letter words whose reversal ("ot", "fo") is a typing slip worth reporting."""
_VOWELS: Final = frozenset("aeiouy")


def _misspelt(lower: str, context: _Context, *, name_like: bool = False) -> tuple[str, ...] | None:
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
    plain = _without_accents(lower)
    found = tuple(
        word
        for word in context.lexicon.candidates(plain)
        if (word[0] == plain[0] or _swapped(plain, word))
        and (not name_like or _classic_slip(plain, word))
    )
    if not name_like:
        found = _run_together(plain, context.lexicon) + found
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


def _two_letters(lower: str, context: _Context) -> tuple[str, ...] | None:
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


def _near_miss_name(text: str, context: _Context) -> str | None:
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


def _wrong_name_addressed(text: str, context: _Context) -> str | None:
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


# --- doubled words and long sentences ---------------------------------------------

_DOUBLED = re.compile(r"(?<![\w'-])([^\W\d_]+(?:'[^\W\d_]+)*)[ \t]+(\1)(?![\w'-])", re.IGNORECASE)
_GRAMMATICAL_DOUBLES: Final = frozenset({"had", "that"})
"""Doubles that are usually correct ("he had had", "that that")."""


_LETTERS = re.compile(r"[^\W\d_]+")
_PUNCTUATION_TO_SPACE = str.maketrans(dict.fromkeys(',.;:!?()[]{}"', " "))


def _doubled_words(field: str, lines: list[str]) -> list[Problem]:
    problems = [
        Problem(kind=ProblemKind.DOUBLED_WORD, field=field, text=match.group(0))
        for line in lines
        if _may_double(line)
        for match in _DOUBLED.finditer(line)
        if match.group(1).lower() not in _GRAMMATICAL_DOUBLES
    ]
    return problems[:MAX_PER_KIND]


def _may_double(line: str) -> bool:
    """A quick test that spares most lines the slower doubled-word search."""
    words = line.lower().translate(_PUNCTUATION_TO_SPACE).split()
    return any(map(operator.eq, words, words[1:]))


_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")
_WORDLESS = re.compile(r"(?<!\S)[^\w\s]+(?!\S)")
"""A dash, an ampersand or a bullet standing alone: not a word."""


def _long_sentences(field: str, lines: list[str]) -> list[Problem]:
    problems = []
    for line in lines:
        if len(line.split()) <= MAX_SENTENCE_WORDS:
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
                        text=_excerpt(sentence),
                        words=count,
                    )
                )
    return problems[:MAX_PER_KIND]


# --- greeting, sign-off and signature ----------------------------------------------

_GREETING = re.compile(
    r"(?:dear|hi|hello|hey|hiya|howdy|greetings|good\s+(?:morning|afternoon|evening|day)"
    r"|morning|afternoon|evening|to\s+whom\s+it\s+may\s+concern|to\s+the)\b",
    re.IGNORECASE,
)
_TITLES: Final = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir"})
_CLOSINGS: Final = frozenset(
    {
        "all best", "all the best", "best", "best regards", "best wishes", "cheers",
        "gratefully", "kind regards", "kindest regards", "many thanks", "regards",
        "respectfully", "sincerely", "sincerely yours", "speak soon", "take care",
        "talk soon", "thank you", "thank you again", "thank you so much", "thanks",
        "thanks again", "thanks so much", "warm regards", "warm wishes", "warmest regards",
        "warmest wishes", "warmly", "with appreciation", "with best wishes", "with gratitude",
        "with kind regards", "with many thanks", "with thanks", "with warm regards", "yours",
        "yours faithfully", "yours sincerely", "yours truly",
    }
)  # fmt: skip
"""Closing phrases that make a sign-off even without a trailing comma."""
_CLOSING_OPENINGS: Final = _CLOSINGS | {"looking forward", "i look forward", "hoping to"}
_LONG_SIGN_OFF_WORDS: Final = 8
_CLOSING_WORDS: Final = frozenset(word for phrase in _CLOSINGS for word in phrase.split())
_PHONE = re.compile(r"[+(]?\d[\d\s().+/-]{5,}\d(?:\s*(?:ext\.?|x)\s*\d+)?")
_SIGNATURE_ENDINGS: Final = frozenset(
    {"ltd.", "inc.", "co.", "corp.", "jr.", "sr.", "plc.", "llc."}
)
_MAX_SIGNATURE_LINES: Final = 10
_DISCLAIMER = re.compile(r"\bconfidential|intended (?:solely )?for|\bbefore printing")
"""The notices mail systems append after a signature."""
_MAX_SIGNATURE_WORDS: Final = 10


@dataclass(frozen=True)
class _Letter:
    """Where an email-shaped text has its greeting, sign-off and signature (line indexes)."""

    greeting: int | None
    sign_off: int | None
    signature: frozenset[int]

    @classmethod
    def read(cls, lines: list[str], context: _Context) -> _Letter:
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


def _is_greeting(line: str, context: _Context) -> bool:
    line = line.strip()
    if _GREETING.match(line):
        return True
    words = [w for w in _WORD.findall(line) if w.lower() not in _TITLES]
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
    plain = [word.strip(",.!-–—").lower() for word in words]
    if line.endswith(","):
        return len(words) <= SIGN_OFF_MAX_WORDS or _opens_like_closing(plain)
    if len(words) > SIGN_OFF_MAX_WORDS:
        return False
    for size in range(len(words), 0, -1):
        if " ".join(plain[:size]) in _CLOSINGS:
            rest = [word for word in words[size:] if word.strip(",-–—")]
            return all(word[0].isupper() for word in rest)
    return False


def _in_english(line: str) -> bool:
    return not _CLOSING_WORDS.isdisjoint(_WORD.findall(line.lower()))


def _opens_like_closing(plain: list[str]) -> bool:
    return any(" ".join(plain[:size]) in _CLOSING_OPENINGS for size in (1, 2, 3))


def _is_signature_line(line: str) -> bool:
    """A name, title, company, phone number, address, URL or labelled line: short, not
    ending like a sentence, and opening with a capital, a number, an address or a label.
    A postscript, "Sent from my phone" and a confidentiality notice may follow them."""
    if _LABEL.match(line) or _PHONE.fullmatch(line):
        return True
    lowered = line.lower()
    if lowered.startswith(("p.s.", "ps ", "ps:", "sent from")) or _DISCLAIMER.search(lowered):
        return True
    chunks = line.replace("|", " ").replace("·", " ").replace("•", " ").split()
    if not chunks or len(chunks) > _MAX_SIGNATURE_WORDS:
        return False
    last = chunks[-1].lower()
    if last[-1] in ".!?" and last not in _SIGNATURE_ENDINGS and len(last) > 2:
        return False
    for chunk in chunks:
        if _SKIPPED_CHUNK.match(chunk) or _DIGIT.search(chunk) or "/" in chunk:
            continue
        word = chunk.strip("()[],;:\"'-–—")
        if word:
            return word[0].isupper() or len(word) <= 2  # "m." or "e:" may label a number
    return True


def _letter_shape(lines: list[str], letter: _Letter) -> list[Problem]:
    filled = [line.strip() for line in lines if line.strip()]
    problems = []
    if letter.greeting is None:
        problems.append(
            Problem(
                kind=ProblemKind.MISSING_GREETING,
                field="body",
                text=_excerpt(filled[0]) if filled else "",
            )
        )
    if letter.sign_off is None:
        problems.append(
            Problem(
                kind=ProblemKind.MISSING_SIGN_OFF,
                field="body",
                text=_excerpt(filled[-1]) if filled else "",
            )
        )
    return problems
