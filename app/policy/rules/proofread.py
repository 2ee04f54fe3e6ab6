"""`proofread`: spelling, doubled words, long sentences, and an email's greeting and sign-off."""

from collections import Counter

from app.enums import Channel, Severity
from app.policy import seed
from app.policy.problems import MAX_SENTENCE_WORDS, Names, Problem, ProblemKind
from app.policy.proofread import proofread
from app.policy.rules.base import Hit, Situation, cite, rule

_WRITTEN = frozenset(
    {Channel.EMAIL, Channel.TEXT_MESSAGE, Channel.SOCIAL_MESSAGE, Channel.PUBLIC_POST}
)


@rule(
    id="proofread",
    default_severity=Severity.WARN,
    fires_when=(
        "An outbound `email`, `text_message`, `social_message` or `public_post` (to anyone, "
        "referees included) whose subject or body has likely spelling mistakes, a doubled "
        f"word, a sentence over {MAX_SENTENCE_WORDS} words or, for an email, no greeting or "
        "no sign-off. The words of the company, role title, candidate's and contacts' names "
        "and the account's `known_words` are known; a near miss of the company's or a "
        "contact's name is a mistake."
    ),
    quote=seed.PROOFREAD,
)
def proofread_rule(s: Situation) -> Hit | None:
    if not s.outbound or s.attempt.channel not in _WRITTEN:
        return None
    interview = s.interview
    names = Names(
        company=interview.company,
        role_title=interview.role_title,
        candidate=interview.candidate_name,
        contacts=tuple(contact.name for contact in s.contacts.values()),
    )
    problems = proofread(
        s.attempt.subject,
        s.attempt.body,
        is_email=s.attempt.channel is Channel.EMAIL,
        names=names,
        known_words=s.settings.known_words,
    )
    if not problems:
        return None
    return Hit(
        message=f"Proofread before sending: {_summary(problems)}.",
        advice=(
            f"Fix the problems listed in the details and read it once more, ideally with a "
            f"friend. {cite(seed.PROOFREAD)}"
        ),
        details=[problem.to_dict() for problem in problems],
    )


def _summary(problems: list[Problem]) -> str:
    counts = Counter(problem.kind for problem in problems)
    parts = []
    misspelled = [f'"{p.text}"' for p in problems if p.kind is ProblemKind.SPELLING]
    if misspelled:
        parts.append(
            f"{_plural(len(misspelled), 'possible misspelling')} ({', '.join(misspelled)})"
        )
    if counts[ProblemKind.DOUBLED_WORD]:
        parts.append(_plural(counts[ProblemKind.DOUBLED_WORD], "doubled word"))
    if counts[ProblemKind.LONG_SENTENCE]:
        sentences = _plural(counts[ProblemKind.LONG_SENTENCE], "sentence")
        parts.append(f"{sentences} over {MAX_SENTENCE_WORDS} words")
    if counts[ProblemKind.MISSING_GREETING]:
        parts.append("no greeting")
    if counts[ProblemKind.MISSING_SIGN_OFF]:
        parts.append("no sign-off")
    return "; ".join(parts)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
