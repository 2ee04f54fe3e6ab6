"""`followup demo`: a demo account, seeded through the public API in process.

Every record is made by the same HTTP routes a client calls (httpx's ASGI transport
against the app), so the demo stays right however the internals change; then one
worker tick opens the follow-up window that is already due, as `followup serve` would.
"""

from __future__ import annotations

import secrets
import shlex
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from app.main import create_app
from app.services.readiness import check_ready
from app.settings import Settings
from app.worker.runner import Worker

ACCOUNT_NAME = "Demo: Alex Morgan's job search"


class DemoError(Exception):
    """The demo could not be seeded; the message says why and what to do."""


@dataclass(frozen=True)
class SeededDemo:
    account_id: str
    api_key: str
    interview_id: str
    """The interview whose attempts show every verdict."""
    verdicts: tuple[str, ...]
    """The verdict of each contact attempt tried, in order (`rejected` ones were not stored)."""
    open_windows: int
    counts: dict[str, int]


def _at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class _Seeder:
    """Calls the API as the demo account and keeps count of what it made."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.counts: dict[str, int] = {}

    async def call(
        self, method: str, path: str, body: dict[str, Any], expect: int = 201
    ) -> dict[str, Any]:
        response = await self.http.request(method, path, json=body)
        if response.status_code != expect:
            detail = response.json().get("detail", response.text)
            raise DemoError(f"{method} {path} answered {response.status_code}: {detail}")
        return dict(response.json())

    async def create(self, kind: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        made = await self.call("POST", path, body)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return made


async def _seed(http: httpx.AsyncClient, admin_token: str, now: datetime) -> SeededDemo:
    created = await http.post(
        "/admin/accounts",
        json={"name": ACCOUNT_NAME},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    if created.status_code != 201:
        raise DemoError(f"creating the account answered {created.status_code}")
    account = created.json()
    http.headers["Authorization"] = f"Bearer {account['api_key']}"
    seed = _Seeder(http)

    alex = await seed.create(
        "candidates",
        "/v1/candidates",
        {"name": "Alex Morgan", "email": "alex.morgan@example.com", "timezone": "Europe/London"},
    )
    sam = await seed.create(
        "candidates",
        "/v1/candidates",
        {"name": "Sam Rivera", "email": "sam.rivera@example.com", "timezone": "America/New_York"},
    )

    # Alex's interview ended three days ago and a decision was due an hour ago, so the
    # check-in window is open; Sam's interview is the day after tomorrow.
    ended = now - timedelta(hours=72)
    interview = await seed.create(
        "interviews",
        "/v1/interviews",
        {
            "candidate_id": alex["id"],
            "company": "Ledgerly",
            "role_title": "Platform Engineer",
            "starts_at": _at(ended - timedelta(hours=1)),
            "ends_at": _at(ended),
            "format": "video",
            "decision_expected_at": _at(now - timedelta(hours=1)),
            "notes": "Second round with the platform team.",
        },
    )
    upcoming = await seed.create(
        "interviews",
        "/v1/interviews",
        {
            "candidate_id": sam["id"],
            "company": "Brightwave Health",
            "role_title": "Product Designer",
            "starts_at": _at(now + timedelta(days=2)),
            "format": "in_person",
        },
    )

    contacts = f"/v1/interviews/{interview['id']}/contacts"
    recruiter = await seed.create(
        "contacts",
        contacts,
        {"name": "Priya Shah", "role": "recruiter", "email": "priya@example.com"},
    )
    await seed.create("contacts", contacts, {"name": "Daniel Okafor", "role": "hiring_manager"})
    referee = await seed.create(
        "contacts",
        contacts,
        {"name": "Chris Taylor", "role": "referee", "email": "chris@example.com"},
    )
    await seed.create(
        "contacts",
        f"/v1/interviews/{upcoming['id']}/contacts",
        {"name": "Jamie Chen", "role": "recruiter"},
    )

    attempts = f"/v1/interviews/{interview['id']}/contact-attempts"
    verdicts: list[str] = []
    # A note to the referee the same day, and a thank-you a day later: both allowed.
    for body in (
        {
            "channel": "email",
            "contact_id": referee["id"],
            "purpose": "referee_briefing",
            "occurred_at": _at(ended + timedelta(hours=3)),
            "subject": "A reference call from Ledgerly",
            "body": "Hi Chris,\n\nI interviewed with Ledgerly today for the Platform Engineer "
            "role, and they may call you this week for a reference. Thank you again for "
            "your help.\n\nThanks,\nAlex",
        },
        {
            "channel": "email",
            "contact_id": recruiter["id"],
            "purpose": "thank_you",
            "occurred_at": _at(ended + timedelta(hours=25)),
            "subject": "Thank you for the interview",
            "body": "Dear Priya,\n\nThank you for taking the time to talk with me about the "
            "Platform Engineer role at Ledgerly. I enjoyed meeting the team and learning "
            "about its plans for the coming year.\n\nBest regards,\nAlex Morgan",
        },
        # A second email before the check-in window: stored, but flagged.
        {
            "channel": "email",
            "contact_id": recruiter["id"],
            "purpose": "check_in",
            "occurred_at": _at(ended + timedelta(hours=48)),
            "subject": "Following up on my interview",
            "body": "Dear Priya,\n\nI wanted to follow up on my interview for the Platform "
            "Engineer role. Please let me know if you need anything else from me.\n\n"
            "Kind regards,\nAlex Morgan",
        },
    ):
        stored = await seed.create("contact attempts", attempts, body)
        verdicts.append(str(stored["verdict"]))
    # A call straight after the follow-up email: refused, and nothing is stored.
    await seed.call(
        "POST",
        attempts,
        {
            "channel": "phone_call",
            "contact_id": recruiter["id"],
            "occurred_at": _at(ended + timedelta(hours=50)),
        },
        expect=422,
    )
    verdicts.append("rejected")
    return SeededDemo(
        account_id=str(account["account_id"]),
        api_key=str(account["api_key"]),
        interview_id=str(interview["id"]),
        verdicts=tuple(verdicts),
        open_windows=0,
        counts=seed.counts,
    )


async def seed_demo(settings: Settings, now: datetime | None = None) -> SeededDemo:
    """Create the demo account on the configured database and open its due window."""
    now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    # A one-off admin token that exists only inside this process, for POST /admin/accounts.
    admin_token = secrets.token_urlsafe(32)
    app = create_app(settings.model_copy(update={"admin_token": SecretStr(admin_token)}))
    try:
        problem = await check_ready(app.state.engine)
        if problem is not None:
            raise DemoError(f"{problem}: run `followup migrate` first")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as http:
            seeded = await _seed(http, admin_token, now)
            opened = await Worker(settings, app.state.sessionmaker).open_windows()
            windows = await http.get("/v1/followup-windows", params={"state": "open"})
        open_windows = len(windows.json()["data"]) if windows.status_code == 200 else opened
    finally:
        await app.state.engine.dispose()
    return replace(seeded, open_windows=open_windows)


def _curl(api_key: str, url: str, body: str | None = None) -> str:
    command = ["curl", "-sS", "-H", f"Authorization: Bearer {api_key}"]
    if body is not None:
        command += ["-H", "Content-Type: application/json", "-d", body]
    return shlex.join([*command, url])


def format_instructions(seeded: SeededDemo, base_url: str) -> str:
    """What `followup demo` prints: the key, what was made, and three commands to try."""
    base = base_url.rstrip("/")
    interview = f"{base}/v1/interviews/{seeded.interview_id}"
    made = [f"{count} {kind}" for kind, count in seeded.counts.items()]
    return (
        f"Created the demo account {ACCOUNT_NAME!r} ({seeded.account_id}).\n"
        f"API key (shown once): {seeded.api_key}\n\n"
        f"Seeded {', '.join(made[:-1])} and {made[-1]}.\n"
        f"Contact attempts judged: {', '.join(seeded.verdicts)} (a rejected one is not stored).\n"
        f"Follow-up windows open now: {seeded.open_windows}.\n\n"
        f"With the server running (`followup serve`, at {base}), try:\n\n"
        "# the attempts on the Ledgerly interview, each with its verdict and findings\n"
        f"{_curl(seeded.api_key, f'{interview}/contact-attempts')}\n\n"
        "# would a LinkedIn connection request be wise while the decision is pending?\n"
        + _curl(
            seeded.api_key,
            f"{interview}/contact-attempts/evaluate",
            '{"channel": "social_connection", "platform": "linkedin"}',
        )
        + "\n\n# the follow-up windows open now: time to check in\n"
        f"{_curl(seeded.api_key, f'{base}/v1/followup-windows?state=open')}\n"
    )
