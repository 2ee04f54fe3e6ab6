"""Realistic data for the API benchmarks: what the service itself would have stored.

One account (with an API key), 1,000 candidates and 10,000 interviews spread over the last
90 days and the next 30, each with 1-4 contacts, its three follow-up windows and, once it is over,
the contact attempts a candidate typically makes (referee briefing, thank-you, inbound
call, check-in, now and then a premature call or a LinkedIn request). Nothing is made up
by hand where the service decides: every attempt is evaluated by `app.policy.evaluate`
against the attempts stored before it (rejected ones are not stored, as in the API),
windows open on their `opens_at` and move by `app.windows.schedule`'s transitions, and
the event outbox holds the events those changes would have written, their data built
from the same `app.schemas` models the service uses. Rows go in with bulk inserts into
the `app.db.models` tables.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from pydantic import BaseModel
from sqlalchemy import Table, text
from sqlalchemy import insert as sa_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.models import (
    Account,
    ApiKey,
    Candidate,
    Contact,
    ContactAttempt,
    Event,
    FollowupWindow,
    Interview,
)
from app.enums import (
    Channel,
    ContactRole,
    Decision,
    Direction,
    EventType,
    Platform,
    Purpose,
    Verdict,
    WindowKind,
    WindowState,
)
from app.policy import (
    DEFAULT_SETTINGS,
    AttemptFacts,
    ContactFacts,
    InterviewFacts,
    PolicyContext,
    evaluate,
)
from app.schemas.attempts import AttemptRead, FindingRead
from app.schemas.contacts import ContactRead
from app.schemas.events import (
    EVENT_DATA,
    AttemptEventData,
    InterviewEventData,
    WindowOpenedData,
)
from app.schemas.interviews import InterviewRead, WindowRead
from app.services.accounts import KEY_PREFIX, hash_key
from app.targets import Target, target_of
from app.windows import schedule
from app.windows.actions import SUGGESTED_ACTIONS

CANDIDATES = 1_000
INTERVIEWS = 10_000

_FIRST = (
    "Jordan Alex Sam Riley Morgan Casey Taylor Jamie Avery Quinn Priya Wei Amara Lucas Sofia "
    "Mateo Hannah Omar Elena Noah Chloe Ravi Ingrid Tomás Yuki Kwame Leila Finn Nadia Oscar"
)
_LAST = (
    "Smith Patel Garcia Chen Okafor Müller Rossi Novak Kim Silva Brown Nguyen Haddad Jensen "
    "Kowalski Dubois Tanaka Mensah Larsen Costa Walsh Ahmed Fischer Moreau Reyes Lindqvist"
)
FIRST = _FIRST.split(" ")
LAST = _LAST.split(" ")
COMPANIES = (
    "Northwind Traders",
    "Contoso Analytics",
    "Fabrikam Health",
    "Tailspin Toys",
    "Wide World Importers",
    "Adventure Works",
    "Litware Systems",
    "Proseware Labs",
    "Woodgrove Bank",
    "Fourth Coffee",
    "Blue Yonder Airlines",
    "Lucerne Publishing",
    "Margie's Travel",
    "Alpine Ski House",
    "Coho Vineyard",
    "Graphic Design Institute",
    "Humongous Insurance",
    "Trey Research",
    "Wingtip Toys",
    "Southridge Video",
)
ROLES = (
    "Data Analyst",
    "Senior Data Analyst",
    "Backend Engineer",
    "Product Manager",
    "UX Designer",
    "Account Executive",
    "Marketing Coordinator",
    "Financial Analyst",
    "Operations Manager",
    "Customer Success Lead",
    "QA Engineer",
    "Site Reliability Engineer",
    "Recruitment Partner",
    "Office Manager",
)
TIMEZONES = (
    "Europe/London",
    "Europe/London",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Europe/Berlin",
    "Europe/Madrid",
    "Asia/Singapore",
    "Australia/Sydney",
    "UTC",
)
NOTES = (
    "Panel with the analytics team; follow up with the hiring manager.",
    "Second round, case study presentation.",
    "Video call; the recruiter said a decision comes within two weeks.",
    "Met the team lead and two engineers; asked about on-call.",
    None,
    None,
)


@dataclass
class Seeded:
    """What the benchmarks need to know about the seeded account."""

    account_id: str
    api_key: str
    candidate_id: str
    evaluate_targets: list[tuple[str, str]]
    """(interview id, hiring manager's contact id) of every interview."""
    record_targets: list[tuple[str, str]]
    """Interviews over for more than 8 days, decision pending, no employer contact in the
    last 8 days: two more emails each are stored (not blocked by the weekly limit)."""
    rows: dict[str, list[dict[str, Any]]] = field(repr=False)
    """Every table's rows, by table name."""

    def counts(self) -> dict[str, int]:
        return {name: len(rows) for name, rows in self.rows.items()}


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self, prefix: str) -> str:
        return f"{prefix}_{self.rng.getrandbits(128):032x}"


def _row(values: dict[str, Any]) -> Any:
    """A row as the Read models read it (attribute access); cheaper than a transient ORM
    object."""
    return SimpleNamespace(**values)


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))


def _short_email(greeting_name: str, candidate: str, company: str, role: str, kind: str) -> str:
    if kind == "thank_you":
        text_ = (
            f"Thank you for taking the time to meet with me about the {role} role at {company}. "
            "I enjoyed hearing about the team and the work ahead, and I am even more excited "
            "about the opportunity."
        )
    elif kind == "check_in":
        text_ = (
            f"I hope you are well. I wanted to check in on the {role} role at {company}, as I "
            "remain very interested. Please let me know if you need anything else from me."
        )
    else:
        text_ = (
            f"I have just interviewed for the {role} role at {company} and gave your name as a "
            "reference. They may call you this week; thank you again for your help."
        )
    return f"Dear {greeting_name},\n\n{text_}\n\nBest regards,\n{candidate}"


class _Builder:
    """Accumulates rows table by table while it simulates each interview's history."""

    def __init__(self, rng: random.Random, now: datetime, account_id: str) -> None:
        self.rng = rng
        self.now = now
        self.account_id = account_id
        self.id = _Ids(rng)
        self.rows: dict[str, list[dict[str, Any]]] = {
            "candidates": [],
            "interviews": [],
            "contacts": [],
            "contact_attempts": [],
            "followup_windows": [],
            "events": [],
        }
        self.evaluate_targets: list[tuple[str, str]] = []
        self.record_targets: list[tuple[str, str]] = []

    def event(self, event_type: EventType, data: BaseModel, at: datetime) -> None:
        """An outbox row; `data` is an instance of `EVENT_DATA[event_type]`, stored as the
        service stores it."""
        if not isinstance(data, EVENT_DATA[event_type]):
            raise TypeError(f"{event_type} does not carry {type(data).__name__}")
        self.rows["events"].append(
            {
                "id": self.id("evt"),
                "account_id": self.account_id,
                "type": event_type.value,
                "data": data.model_dump(mode="json"),
                "created_at": at,
            }
        )

    def candidates(self) -> list[dict[str, Any]]:
        for n in range(CANDIDATES):
            first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
            created = self.now - timedelta(days=self.rng.uniform(95, 150))
            self.rows["candidates"].append(
                {
                    "id": self.id("cand"),
                    "account_id": self.account_id,
                    "name": f"{first} {last}",
                    "email": f"{first.lower()}.{last.lower()}{n}@example.com",
                    "phone": f"+44 7700 9{n:05d}" if self.rng.random() < 0.6 else None,
                    "timezone": self.rng.choice(TIMEZONES),
                    "external_id": f"ats-cand-{n}" if self.rng.random() < 0.5 else None,
                    "created_at": created,
                    "updated_at": created,
                }
            )
        return self.rows["candidates"]

    def interview(self, n: int, candidate: dict[str, Any]) -> None:
        rng, now = self.rng, self.now
        starts = _between(rng, now - timedelta(days=90), now + timedelta(days=30))
        starts = starts.replace(minute=rng.choice((0, 15, 30, 45)), second=0, microsecond=0)
        ends = starts + timedelta(minutes=rng.choice((30, 45, 60, 60, 90)))
        created = min(starts - timedelta(days=rng.uniform(2, 14)), now - timedelta(hours=1))
        expected = ends + timedelta(days=10) if rng.random() < 0.3 else None
        decided_at: datetime | None = None
        decision = Decision.PENDING
        if ends < now - timedelta(days=14) and rng.random() < 0.35:
            at = ends + timedelta(days=rng.uniform(10, 30))
            if at < now:
                decided_at = at
                decision = rng.choice((Decision.OFFER, Decision.REJECTED, Decision.WITHDRAWN))
        row: dict[str, Any] = {
            "id": self.id("intv"),
            "account_id": self.account_id,
            "candidate_id": candidate["id"],
            "company": rng.choice(COMPANIES),
            "role_title": rng.choice(ROLES),
            "starts_at": starts,
            "ends_at": ends,
            "timezone": candidate["timezone"],
            "format": rng.choice(("in_person", "phone", "video", "video", None)),
            "decision_expected_at": expected,
            "external_id": f"ats-intv-{n}" if rng.random() < 0.5 else None,
            "notes": rng.choice(NOTES),
            "decision": Decision.PENDING.value,
            "decided_at": None,
            "created_at": created,
            "updated_at": created,
        }
        self.rows["interviews"].append(row)
        contacts = self.contacts(row)
        self.history(row, candidate, contacts, decision, decided_at)

    def contacts(self, interview: dict[str, Any]) -> list[dict[str, Any]]:
        roles = [ContactRole.HIRING_MANAGER]
        if self.rng.random() < 0.6:
            roles.append(ContactRole.RECRUITER)
        if self.rng.random() < 0.4:
            roles.append(ContactRole.INTERVIEWER)
        if self.rng.random() < 0.3:
            roles.append(ContactRole.REFEREE)
        rows = []
        for i, role in enumerate(roles):
            first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
            at = interview["created_at"] + timedelta(minutes=1 + i)
            rows.append(
                {
                    "id": self.id("cont"),
                    "account_id": self.account_id,
                    "interview_id": interview["id"],
                    "name": f"{first} {last}",
                    "role": role.value,
                    "email": f"{first.lower()}.{last.lower()}@example.org",
                    "phone": None,
                    "timezone": interview["timezone"] if self.rng.random() < 0.3 else None,
                    "created_at": at,
                    "updated_at": at,
                }
            )
        self.rows["contacts"].extend(rows)
        self.evaluate_targets.append((interview["id"], rows[0]["id"]))
        return rows

    def planned_attempts(
        self, interview: dict[str, Any], contacts: list[dict[str, Any]], candidate: str
    ) -> list[dict[str, Any]]:
        """What the candidate tries after the interview, before the policy has its say."""
        rng = self.rng
        ends = interview["ends_at"]
        company, role = interview["company"], interview["role_title"]
        by_role = {ContactRole(c["role"]): c for c in contacts}
        manager = by_role[ContactRole.HIRING_MANAGER]
        check_in = schedule.check_in_opens_at(
            schedule.WindowTimes(
                ends,
                interview["decision_expected_at"],
                DEFAULT_SETTINGS.thank_you_delay,
                DEFAULT_SETTINGS.check_in_delay,
            )
        )
        planned: list[dict[str, Any]] = []

        def email(contact: dict[str, Any], at: datetime, kind: str, subject: str) -> None:
            planned.append(
                {
                    "contact_id": contact["id"],
                    "channel": Channel.EMAIL,
                    "direction": Direction.OUTBOUND,
                    "purpose": Purpose(kind if kind != "briefing" else "referee_briefing"),
                    "occurred_at": at,
                    "subject": subject,
                    "body": _short_email(
                        contact["name"].split()[0], candidate, company, role, kind
                    ),
                }
            )

        referee = by_role.get(ContactRole.REFEREE)
        if referee is not None and rng.random() < 0.5:
            email(referee, ends + timedelta(hours=rng.uniform(1, 30)), "briefing", "A heads-up")
        if rng.random() < 0.85:
            at = ends + timedelta(hours=rng.uniform(18, 48))
            email(manager, at, "thank_you", f"Thank you, {role} interview")
        recruiter = by_role.get(ContactRole.RECRUITER)
        if recruiter is not None and rng.random() < 0.35:
            planned.append(
                {
                    "contact_id": recruiter["id"],
                    "channel": rng.choice((Channel.EMAIL, Channel.PHONE_CALL)),
                    "direction": Direction.INBOUND,
                    "occurred_at": ends + timedelta(days=rng.uniform(2, 9)),
                }
            )
        if rng.random() < 0.08:
            planned.append(
                {
                    "contact_id": (recruiter or manager)["id"],
                    "channel": Channel.PHONE_CALL,
                    "direction": Direction.OUTBOUND,
                    "occurred_at": ends + timedelta(days=rng.uniform(2, 5)),
                }
            )
        if rng.random() < 0.05:
            planned.append(
                {
                    "contact_id": manager["id"],
                    "channel": Channel.SOCIAL_CONNECTION,
                    "platform": Platform.LINKEDIN,
                    "direction": Direction.OUTBOUND,
                    "occurred_at": ends + timedelta(hours=rng.uniform(2, 72)),
                }
            )
        if rng.random() < 0.4:
            at = check_in + timedelta(days=rng.uniform(0, 4))
            email(manager, at, "check_in", f"Checking in on the {role} role")
        return sorted(planned, key=lambda p: p["occurred_at"])

    def history(
        self,
        interview: dict[str, Any],
        candidate: dict[str, Any],
        contacts: list[dict[str, Any]],
        decision: Decision,
        decided_at: datetime | None,
    ) -> None:
        """Replay the interview's life in time order: windows, attempts, decision, events."""
        now = self.now
        ends = interview["ends_at"]
        created = interview["created_at"]
        times = schedule.WindowTimes(
            ends,
            interview["decision_expected_at"],
            DEFAULT_SETTINGS.thank_you_delay,
            DEFAULT_SETTINGS.check_in_delay,
        )
        windows = [
            {
                "id": self.id("win"),
                "account_id": self.account_id,
                "interview_id": interview["id"],
                "kind": kind.value,
                "opens_at": opens_at,
                "state": WindowState.PENDING.value,
                "state_changed_at": created,
                "created_at": created,
            }
            for kind, opens_at in schedule.all_opening_times(times).items()
        ]
        self.rows["followup_windows"].extend(windows)
        contact_reads = [ContactRead.model_validate(_row(c)) for c in contacts]

        def interview_now() -> InterviewRead:
            ordered = sorted(windows, key=lambda w: w["opens_at"])
            return InterviewRead.of(_row(interview), [_row(w) for w in ordered])

        self.event(
            EventType.INTERVIEW_CREATED, InterviewEventData(interview=interview_now()), created
        )

        # The timeline: (time, order, what, payload); openings go before attempts at a tie.
        timeline: list[tuple[datetime, int, str, Any]] = [
            (w["opens_at"] + timedelta(seconds=1), 0, "open", w) for w in windows
        ]
        for planned in self.planned_attempts(interview, contacts, candidate["name"]):
            timeline.append((planned["occurred_at"], 1, "attempt", planned))
        if decided_at is not None:
            timeline.append((decided_at, 2, "decision", None))
        timeline = [entry for entry in timeline if entry[0] < now - timedelta(minutes=1)]
        timeline.sort(key=lambda entry: (entry[0], entry[1]))

        facts = {
            c["id"]: ContactFacts(c["id"], c["name"], ContactRole(c["role"]), c["timezone"])
            for c in contacts
        }
        stored: list[AttemptFacts] = []
        for at, _, what, payload in timeline:
            if what == "open":
                window = payload
                if window["state"] != WindowState.PENDING.value:
                    continue
                window["state"], window["state_changed_at"] = WindowState.OPEN.value, at
                self.event(
                    EventType.WINDOW_OPENED,
                    WindowOpenedData(
                        window=WindowRead.model_validate(_row(window)),
                        interview=interview_now(),
                        contacts=contact_reads,
                        suggested_action=SUGGESTED_ACTIONS[WindowKind(window["kind"])],
                    ),
                    at,
                )
            elif what == "decision":
                interview["decision"], interview["decided_at"] = decision.value, at
                interview["updated_at"] = at
                for window in windows:
                    view = schedule.WindowView(
                        WindowKind(window["kind"]),
                        WindowState(window["state"]),
                        window["opens_at"],
                    )
                    if schedule.transition_for_decision(view, decision) is not None:
                        window["state"] = WindowState.CANCELLED.value
                        window["state_changed_at"] = at
                self.event(
                    EventType.INTERVIEW_DECIDED, InterviewEventData(interview=interview_now()), at
                )
            else:
                self.attempt(interview, candidate, facts, stored, windows, payload, at)

        if (
            interview["decision"] == Decision.PENDING.value
            and ends < now - timedelta(days=8)
            and not any(
                a.direction is Direction.OUTBOUND
                and a.occurred_at > now - timedelta(days=8)
                and target_of(a.channel, facts[a.contact_id].role if a.contact_id else None)
                is Target.EMPLOYER
                for a in stored
            )
        ):
            self.record_targets.append((interview["id"], contacts[0]["id"]))

    def attempt(
        self,
        interview: dict[str, Any],
        candidate: dict[str, Any],
        contacts: dict[str, ContactFacts],
        stored: list[AttemptFacts],
        windows: list[dict[str, Any]],
        planned: dict[str, Any],
        at: datetime,
    ) -> None:
        """Evaluate as the API would have at `at`; store, move windows and emit if allowed."""
        decided = interview["decided_at"]
        context = PolicyContext(
            interview=InterviewFacts(
                ends_at=interview["ends_at"],
                timezone=interview["timezone"],
                decision=Decision(interview["decision"]),
                decided_at=decided,
                decision_expected_at=interview["decision_expected_at"],
                company=interview["company"],
                role_title=interview["role_title"],
                candidate_name=candidate["name"],
            ),
            contacts=contacts,
            attempts=stored,
            settings=DEFAULT_SETTINGS,
        )
        facts = AttemptFacts(
            channel=planned["channel"],
            direction=planned["direction"],
            occurred_at=at,
            contact_id=planned.get("contact_id"),
            platform=planned.get("platform"),
            purpose=planned.get("purpose"),
            subject=planned.get("subject"),
            body=planned.get("body"),
        )
        evaluation = evaluate(facts, context)
        if evaluation.verdict is Verdict.REJECTED:
            return
        stored.append(facts)
        created = min(at + timedelta(seconds=self.rng.uniform(1, 90)), self.now)
        findings = [FindingRead.model_validate(finding) for finding in evaluation.findings]
        row = {
            "id": self.id("att"),
            "account_id": self.account_id,
            "interview_id": interview["id"],
            "contact_id": facts.contact_id,
            "channel": facts.channel.value,
            "direction": facts.direction.value,
            "platform": facts.platform.value if facts.platform else None,
            "purpose": facts.purpose.value if facts.purpose else None,
            "occurred_at": at,
            "subject": facts.subject,
            "body": facts.body,
            "in_reply_to": None,
            "reply_to": evaluation.reply_to,
            "verdict": evaluation.verdict.value,
            "findings": [finding.model_dump(mode="json") for finding in findings],
            "created_at": created,
        }
        self.rows["contact_attempts"].append(row)
        role = contacts[facts.contact_id].role if facts.contact_id else None
        window_attempt = schedule.StoredAttempt(
            facts.channel, facts.direction, at, target_of(facts.channel, role)
        )
        for window in windows:
            view = schedule.WindowView(
                WindowKind(window["kind"]), WindowState(window["state"]), window["opens_at"]
            )
            new_state = schedule.transition_for_attempt(view, window_attempt, interview["ends_at"])
            if new_state is not None:
                window["state"], window["state_changed_at"] = new_state.value, created
        payload = AttemptEventData(
            attempt=AttemptRead.model_validate(_row(row)),
            interview_id=interview["id"],
            verdict=evaluation.verdict,
            findings=findings,
        )
        self.event(EventType.CONTACT_ATTEMPT_RECORDED, payload, created)
        if evaluation.verdict is Verdict.FLAGGED:
            self.event(EventType.CONTACT_ATTEMPT_FLAGGED, payload, created)


def build(now: datetime | None = None, seed: int = 20261102) -> Seeded:
    """Simulate the account's history up to `now` (same seed, same data); insert with
    `insert`, into as many databases as needed."""
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    ids = _Ids(rng)
    account_id = ids("acct")
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    created = now - timedelta(days=200)
    builder = _Builder(rng, now, account_id)
    builder.rows = {
        "accounts": [
            {
                "id": account_id,
                "name": "Bench Careers",
                "policy": None,
                "created_at": created,
                "updated_at": created,
            }
        ],
        "api_keys": [
            {
                "id": ids("key"),
                "account_id": account_id,
                "name": "default",
                "prefix": plain[:10],
                "key_hash": hash_key(plain),
                "created_at": created,
                "revoked_at": None,
            }
        ],
        **builder.rows,
    }
    candidates = builder.candidates()
    for n in range(INTERVIEWS):
        builder.interview(n, rng.choice(candidates))
    return Seeded(
        account_id=account_id,
        api_key=plain,
        candidate_id=candidates[0]["id"],
        evaluate_targets=builder.evaluate_targets,
        record_targets=builder.record_targets,
        rows=builder.rows,
    )


async def insert(engine: AsyncEngine, data: Seeded) -> None:
    """Bulk-insert every table in foreign-key order; on PostgreSQL, VACUUM ANALYZE after,
    so plans match a settled database."""
    chunk = 1000
    async with engine.begin() as conn:
        for name, model in (
            ("accounts", Account),
            ("api_keys", ApiKey),
            ("candidates", Candidate),
            ("interviews", Interview),
            ("contacts", Contact),
            ("contact_attempts", ContactAttempt),
            ("followup_windows", FollowupWindow),
            ("events", Event),
        ):
            rows = data.rows[name]
            for start in range(0, len(rows), chunk):
                await conn.execute(
                    sa_insert(cast(Table, model.__table__)), rows[start : start + chunk]
                )
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE"))
