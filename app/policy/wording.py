"""Words the spelling checks and the letter's shape both read: what a word is, the
titles before a name, and the closing phrases of a sign-off."""

from __future__ import annotations

import re
from typing import Final

WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
LETTERS = re.compile(r"[^\W\d_]+")
TITLES: Final = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir"})
CLOSINGS: Final = frozenset(
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
CLOSING_WORDS: Final = frozenset(word for phrase in CLOSINGS for word in phrase.split())


def in_english(line: str) -> bool:
    return not CLOSING_WORDS.isdisjoint(WORD.findall(line.lower()))
