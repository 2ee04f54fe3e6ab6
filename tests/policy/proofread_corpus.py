"""The proofreading corpus: well-written follow-up messages and messages with one real slip.

Each file under `corpus/` holds messages in this shape (`#` lines before the first
message are comments):

    === good-uk-001
    company: Ledgerly
    role: Finance Systems Analyst
    candidate: Maya Collins
    contacts: Catherine Doyle; Tom Baker
    channel: email                      (optional; email by default)
    subject: Thank you for Tuesday      (optional)
    known: Kubeflow; dbt                (optional; the account's known_words)
    slip: misspelt-word                 (slip files only: what the one mistake is)
    ---
    Dear Catherine,
    ...

`good-*.txt` files hold the well-written messages, `slips-*.txt` the slips. The rates are
measured through the policy engine, exactly as an evaluation would see the message, and
recorded in the docs page by `python -m tests.policy.proofread_corpus --write docs/policy.md`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from app.enums import Channel, ContactRole, Direction
from app.policy import (
    DEFAULT_SETTINGS,
    AttemptFacts,
    ContactFacts,
    PolicyContext,
    evaluate,
)
from app.policy.docs import MEASURED_BEGIN, MEASURED_END
from tests.policy.policy_factories import DAY, INTERVIEW, T

CORPUS = Path(__file__).resolve().parent / "corpus"
SLIPS: frozenset[str] = frozenset(
    {
        "misspelt-word",
        "misspelt-company",
        "misspelt-contact",
        "wrong-name-greeting",
        "lower-case-i",
        "doubled-word",
        "missing-greeting",
        "missing-sign-off",
        "long-sentence",
    }
)


@dataclass(frozen=True)
class Message:
    id: str
    company: str
    role: str
    candidate: str
    contacts: tuple[str, ...]
    channel: Channel
    subject: str | None
    body: str
    known: tuple[str, ...] = ()
    slip: str | None = None


def load(prefix: str) -> list[Message]:
    """Every message of the files named `{prefix}-*.txt`, in file and message order."""
    messages: list[Message] = []
    for path in sorted(CORPUS.glob(f"{prefix}-*.txt")):
        messages += _parse(path)
    return messages


def _parse(path: Path) -> list[Message]:
    blocks = path.read_text(encoding="utf-8").split("\n=== ")[1:]
    return [_message(block, path.name) for block in blocks]


def _message(block: str, source: str) -> Message:
    head, _, body = block.partition("\n---\n")
    first, *fields = head.splitlines()
    values = dict(line.split(": ", 1) for line in fields)
    unknown = set(values) - {"company", "role", "candidate", "contacts", "channel", "subject"}
    unknown -= {"known", "slip"}
    assert not unknown, f"{source} {first}: unknown fields {unknown}"
    slip = values.get("slip")
    assert slip is None or slip in SLIPS, f"{source} {first}: unknown slip {slip}"
    return Message(
        id=first.strip(),
        company=values["company"],
        role=values["role"],
        candidate=values["candidate"],
        contacts=tuple(name.strip() for name in values["contacts"].split(";")),
        channel=Channel(values.get("channel", "email")),
        subject=values.get("subject"),
        body=body.strip("\n"),
        known=tuple(w.strip() for w in values.get("known", "").split(";") if w.strip()),
        slip=slip,
    )


def proofread_details(message: Message) -> list[dict[str, object]]:
    """The `proofread` finding's details for the message sent to its first contact."""
    contacts = {
        f"c{index}": ContactFacts(f"c{index}", name, ContactRole.HIRING_MANAGER)
        for index, name in enumerate(message.contacts)
    }
    interview = replace(
        INTERVIEW,
        company=message.company,
        role_title=message.role,
        candidate_name=message.candidate,
    )
    settings = replace(DEFAULT_SETTINGS, known_words=frozenset(w.lower() for w in message.known))
    attempt = AttemptFacts(
        channel=message.channel,
        direction=Direction.OUTBOUND,
        occurred_at=T + 2 * DAY,
        contact_id="c0",
        subject=message.subject,
        body=message.body,
    )
    context = PolicyContext(interview=interview, contacts=contacts, attempts=(), settings=settings)
    for finding in evaluate(attempt, context).findings:
        if finding.rule == "proofread":
            return finding.details or []
    return []


@dataclass(frozen=True)
class Rates:
    good: int
    good_flagged: int
    slips: int
    slips_found: int

    @property
    def false_alarm_rate(self) -> float:
        return self.good_flagged / self.good

    @property
    def detection_rate(self) -> float:
        return self.slips_found / self.slips

    def markdown(self) -> str:
        """The figures as the docs page reports them."""
        return (
            f"- Well-written messages with any `proofread` finding: {self.good_flagged} of "
            f"{self.good} ({100 * self.false_alarm_rate:.1f} %; the target is at most 2 %).\n"
            f"- Messages with one real slip that get a finding: {self.slips_found} of "
            f"{self.slips} ({100 * self.detection_rate:.1f} %; the target is at least 90 %).\n"
        )


def measure() -> Rates:
    good = load("good")
    slips = load("slips")
    return Rates(
        good=len(good),
        good_flagged=sum(1 for message in good if proofread_details(message)),
        slips=len(slips),
        slips_found=sum(1 for message in slips if proofread_details(message)),
    )


def write_figures(page_path: Path, figures: str) -> None:
    """Replace the measured block of the docs page with the figures."""
    page = page_path.read_text(encoding="utf-8")
    begin, end = page.find(MEASURED_BEGIN), page.find(MEASURED_END)
    if begin < 0 or end < begin:
        raise SystemExit(f"{page_path} has no measured block; run `make docs` first")
    start = begin + len(MEASURED_BEGIN)
    page_path.write_text(f"{page[:start]}\n{figures}{page[end:]}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.policy.proofread_corpus",
        description="Measure the proofreader on the corpus; print or record the figures.",
    )
    parser.add_argument("--write", type=Path, metavar="PAGE", help="update the docs page")
    args = parser.parse_args(argv)
    figures = measure().markdown()
    if args.write is not None:
        write_figures(args.write, figures)
    else:
        sys.stdout.write(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
