"""What makes a public post "about the search" (contract section 6, `no-public-post`).

A post is about the interview or the job search when its subject or body mentions the
company, the role title, a contact's name, or one of `SEARCH_WORDS`. The words are data,
kept here and listed on the docs page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

SEARCH_WORDS: Final = frozenset(
    {
        "interview", "interviews", "interviewed", "interviewing", "interviewer",
        "interviewers", "hiring", "hire", "hires", "hired", "recruiter", "recruiters",
        "recruiting", "recruitment", "recruited", "headhunter", "headhunted", "job", "jobs",
        "offer", "offers", "offered", "role", "roles", "position", "positions",
        "application", "applications", "candidate", "candidates", "candidacy", "vacancy",
        "vacancies", "shortlist", "shortlisted", "cv", "employer", "employers", "onsite",
        "salary", "opentowork",
    }
)  # fmt: skip
"""Words (lower case) that make a post about the search, whatever else it says. Hashtags
count too, split at their capitals (`#NewJob` mentions "job")."""

GENERIC_NAME_WORDS: Final = frozenset(
    {
        "and", "the", "of", "for", "inc", "ltd", "llc", "llp", "plc", "gmbh", "corp",
        "corporation", "company", "co", "group", "holdings", "limited", "labs", "lab",
        "technologies", "technology", "tech", "solutions", "services", "systems",
        "international", "global", "partners", "consulting", "software", "studio",
        "studios", "industries", "enterprises", "associates", "bank", "agency",
    }
)  # fmt: skip
"""Words of a company's name too common to identify it on their own ("Labs", "Group");
the whole name still counts."""

_WORD = re.compile(r"([#@]?)([^\W\d_]+(?:['\u2019][^\W\d_]+)*)")
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def _words(text: str) -> list[tuple[str, str]]:
    """(prefix, word) pairs: the prefix is `#` or `@` for hashtags and handles."""
    return [(match.group(1), match.group(2)) for match in _WORD.finditer(text)]


def _phrase(words: list[str], name: str) -> bool:
    """A name of two words or more appears in a row, ignoring case and punctuation (a
    one-word name is matched as written instead: see `_name_part`)."""
    wanted = [word.lower() for _, word in _words(name)]
    if len(wanted) < 2:
        return False
    size = len(wanted)
    return any(words[i : i + size] == wanted for i in range(len(words) - size + 1))


def _name_part(found: list[tuple[str, str]], part: str) -> bool:
    """A distinctive word of a name, written as in the name (or in capitals), or as a
    hashtag or handle in any case: "Ledgerly" and "@ledgerly" mention Ledgerly, while the
    ordinary word "apple" does not mention Apple."""
    return any(
        word in (part, part.upper()) or (prefix != "" and word.lower() == part.lower())
        for prefix, word in found
    )


def mentions(
    text: str, *, company: str, role_title: str, contact_names: Iterable[str]
) -> list[str]:
    """What in `text` ties it to the interview or the search, in a fixed order: the
    company, the role title, contacts' names, then search words (each once)."""
    found = _words(text)
    lowered = [word.lower() for _, word in found]

    def named(name: str, parts: list[str]) -> bool:
        return _phrase(lowered, name) or any(_name_part(found, part) for part in parts)

    company_words = [word for _, word in _words(company)]
    role_words = [word for _, word in _words(role_title)]
    hits: list[str] = []
    if named(company, [word for word in company_words if _distinctive(word, company_words)]):
        hits.append(company)
    if named(role_title, role_words if len(role_words) == 1 else []):
        hits.append(role_title)
    for name in contact_names:
        if name not in hits and named(name, [word for _, word in _words(name) if len(word) >= 2]):
            hits.append(name)
    for prefix, word in found:
        pieces = [word.lower()]
        if prefix == "#":
            pieces += [piece.lower() for piece in _CAMEL.findall(word)]
        for piece in pieces:
            if piece in SEARCH_WORDS and piece not in hits:
                hits.append(piece)
    return hits


def _distinctive(word: str, name_words: list[str]) -> bool:
    """A word that identifies the company on its own: the whole of a one-word name, or a
    word of three letters or more that isn't a generic one ("Labs", "Group")."""
    return len(name_words) == 1 or (len(word) >= 3 and word.lower() not in GENERIC_NAME_WORDS)
