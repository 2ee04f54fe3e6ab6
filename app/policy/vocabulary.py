"""The words the proofreader knows, and the corrections it can offer.

Word sources, chosen for quality and licence (all plain word lists, no patterns):

- US English: pyspellchecker's bundled `en` list (MIT), which also gives each word a
  frequency used to rank corrections.
- British English: SCOWL size 70, the "large" spell-checking size, exactly as Debian's
  `wbritish-large` package ships it (`words/british-english.txt`, less possessives). SCOWL
  is curated for spell checkers: it lists colour, centred, organisation and programme but
  not the usual misspellings. Its licence is permissive with notice
  (`words/british-english.LICENSE`). Hunspell's en_GB would need a native library or a
  slow pure-Python affix engine, and frequency lists such as wordfreq's count common
  misspellings as words and carry a share-alike data licence.
- Work vocabulary: `words/work-vocabulary.txt`, this project's own list of common work and
  technology words (rollout, lifecycle, webhook, fintech…) that neither list has.

Everything is loaded once, on first use, and kept for the life of the process.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Final

from spellchecker import SpellChecker

_LETTERS: Final = "abcdefghijklmnopqrstuvwxyz"
_PREFIXES: Final = (
    "anti", "co", "counter", "cross", "cyber", "de", "eco", "hyper", "inter", "micro", "multi",
    "non", "out", "over", "post", "pre", "re", "self", "semi", "sub", "super", "un", "under",
)  # fmt: skip
"""Prefixes that make new words freely: under + served, re + engage, non + technical."""
_SUFFIXES: Final = ("ing", "ed", "er", "ery", "ness", "ship", "hood", "less")
_HAS_DOUBLE: Final = re.compile(r"(.)\1")


def word_file(name: str) -> list[str]:
    """The words of one file under `words/`, in file order (comment lines left out)."""
    text = resources.files("app.policy").joinpath("words", name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


@dataclass(frozen=True, eq=False)
class Lexicon:
    """Every known word in lower case, and which of them are ordinary words, not names.

    Compared and hashed by identity (there is one per process), so the proofreader's
    per-word caches can key on it cheaply.
    """

    known: frozenset[str]
    names_only: frozenset[str]
    """Known words that are only proper names ("katherine", but not "team" or "mark")."""
    lower_case: frozenset[str]
    """Words the British list writes in lower case, and the work vocabulary: never names."""
    frequency: Mapping[str, int]
    doubled: Mapping[str, tuple[str, ...]]
    """Common words with a doubled letter, by their form with doubles made single."""

    def knows(self, word: str) -> bool:
        """A listed word, or one made from a listed word in a way English does freely: a
        plural ("submittals"), a common suffix ("sharding", "uploader", "roastery") or
        prefix ("underserved").

        The part after a prefix must have five letters or more, and a suffix is only taken
        off a stem that would not double its last letter or drop an "e" before it, so
        misspellings such as "untill", "begining" and "comeing" stay unknown.
        """
        if word in self.known:
            return True
        if word[-1:] == "s" and word[-2:] != "ss" and len(word) > 4:
            if self._ordinary(word[:-1]):
                return True
            word = word[:-1]
        for suffix in _SUFFIXES:
            stem = word.removesuffix(suffix)
            if stem != word and self._ordinary(stem, 4) and _takes_suffix_plainly(stem, suffix):
                return True
        if word[-2:] in ("ed", "er") and self._ordinary(word[:-1], 5):
            return True  # the stem's own "e": tokenize + r, geofence + d
        return any(
            word.startswith(prefix) and self._ordinary(word[len(prefix) :].lstrip("-"), 5)
            for prefix in _PREFIXES
        )

    def _ordinary(self, word: str, min_length: int = 1) -> bool:
        return len(word) >= min_length and word in self.known and word not in self.names_only

    def candidates(self, word: str) -> tuple[str, ...]:
        """Known words (not names) one edit away (a letter added, dropped, changed or two
        swapped), or a letter moved by two places ("greatful"), or differing only in doubled
        letters ("tommorow"); most frequent first."""
        found = {candidate for candidate in _edits(word) if candidate in self.known}
        found.update(candidate for candidate in _rotations(word) if candidate in self.known)
        found -= self.names_only
        found.update(self.doubled.get(single_letters(word), ()))
        found.discard(word)
        return tuple(sorted(found, key=lambda w: (-self.frequency.get(w, 0), w)))


def _takes_suffix_plainly(stem: str, suffix: str) -> bool:
    """Whether the suffix joins the stem unchanged: not after a "y" that turns to "i"
    (copied, happiness), and, for a suffix starting with a vowel, not after a silent "e"
    (coming) or a consonant-vowel-consonant ending that doubles (beginner, planned)."""
    vowels = "aeiou"
    if stem[-1] == "y" and stem[-2] not in vowels:
        return False
    if suffix[0] not in vowels:
        return True
    if stem[-1] == "e":
        return False
    return not (stem[-1] not in vowels + "wxy" and stem[-2] in vowels and stem[-3] not in vowels)


def single_letters(word: str) -> str:
    """The word with each run of a repeated letter made single: "tommorow" -> "tomorow"."""
    return "".join(letter for letter, _ in itertools.groupby(word))


def _rotations(word: str) -> Iterator[str]:
    for i in range(len(word) - 2):
        head, three, tail = word[:i], word[i : i + 3], word[i + 3 :]
        yield head + three[1:] + three[0] + tail
        yield head + three[2] + three[:2] + tail


def _edits(word: str) -> Iterator[str]:
    for i in range(len(word) + 1):
        head, tail = word[:i], word[i:]
        if tail:
            yield head + tail[1:]
            if len(tail) > 1:
                yield head + tail[1] + tail[0] + tail[2:]
            for letter in _LETTERS:
                yield head + letter + tail[1:]
        for letter in _LETTERS:
            yield head + letter + tail


@functools.cache
def lexicon() -> Lexicon:
    """The dictionaries, loaded on first use (well under a second) and then shared."""
    frequency = SpellChecker(language="en", distance=1).word_frequency.dictionary
    british = word_file("british-english.txt")
    vocabulary = word_file("work-vocabulary.txt")
    lower_british = {word.lower() for word in british}
    british_common = {word for word in british if not word[0].isupper()}
    names_only = lower_british - british_common
    known = frozenset(frequency.keys() | lower_british | set(vocabulary))
    lower_case = frozenset(british_common | set(vocabulary))
    doubled: defaultdict[str, list[str]] = defaultdict(list)
    for word in filter(_HAS_DOUBLE.search, known - names_only):
        doubled[single_letters(word)].append(word)
    return Lexicon(
        known=known,
        names_only=frozenset(names_only),
        lower_case=lower_case,
        frequency=frequency,
        doubled=MappingProxyType({key: tuple(words) for key, words in doubled.items()}),
    )
