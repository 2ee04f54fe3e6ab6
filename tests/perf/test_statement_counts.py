"""SQL statements per request on the five benchmarked routes: a ceiling that only comes down.

Every statement the app's engine sends is counted by a `before_cursor_execute` listener
(`statements`; the statements `app.db.driver` sends to asyncpg directly fire it too),
apart from transaction control, which
is counted from the engine's `begin`/`commit`/`rollback` events instead, so both
backends count it alike (`round_trips` = statements + BEGINs + COMMITs + ROLLBACKs),
except on an autocommit connection, which sends none of them. The request is measured
after an identical one has warmed the app up, on data shaped like `make bench`'s: an
interview that ended 10 days ago with a hiring manager, a referee, earlier attempts and
open windows.

A change that adds a statement to one of these routes fails here. When a change removes
some, lower the ceiling to the new count in the same commit. The goal, met on both:

    record <= 5 statements (an Idempotency-Key adds its own claim and store),
    evaluate <= 3, each list <= 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from app.clock import utcnow
from app.services.windows import open_due_windows
from tests.api.factories import create_candidate, create_contact, create_interview

# (statements, round trips) per route and backend: today's counts, to be lowered.
CEILINGS: dict[str, dict[str, tuple[int, int]]] = {
    # SQLite has no data-modifying WITH: the outbox writes of a record (attempt, window
    # states, event, deliveries) run one by one, in process, with no network round trip.
    "sqlite": {
        "evaluate": (1, 3),
        "record": (5, 7),
        "record_idempotent": (6, 8),
        "list_interviews": (2, 4),
        "list_windows": (2, 4),
    },
    # PostgreSQL: authentication loads the interview and, for evaluate and record, the
    # history the policy judges by (`accounts.identify`'s companion); a list is read in
    # the caller's statement, as one row (`app.db.sql.folded_page`); one statement writes
    # the attempt, its windows, events and deliveries and sends the NOTIFY. Reads, and
    # that one write, run without BEGIN/COMMIT (autocommit); under an Idempotency-Key the
    # key's record is read with the account and stored in the change's transaction.
    "postgresql": {
        "evaluate": (1, 1),
        "record": (2, 2),
        "record_idempotent": (2, 2),
        "list_interviews": (1, 1),
        "list_windows": (1, 1),
    },
}

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")

EMAIL = (
    "Dear Morgan,\n\nThank you again for taking the time to meet with me to discuss the "
    "position. I really enjoyed learning more about the team and the projects you are "
    "planning for next year. Our conversation confirmed my interest in the role. I look "
    "forward to hearing about the next steps and wish you a good week.\n\n"
    "Kind regards,\nJordan Smith"
)


@dataclass
class Counter:
    statements: list[str] = field(default_factory=list)
    begins: int = 0
    ends: int = 0

    @property
    def round_trips(self) -> int:
        return len(self.statements) + self.begins + self.ends

    def report(self) -> str:
        lines = [f"{len(self.statements)} statements, {self.begins} BEGIN, {self.ends} end:"]
        lines += [f"  {' '.join(s.split())[:160]}" for s in self.statements]
        return "\n".join(lines)


@contextmanager
def counting(app: FastAPI) -> Iterator[Counter]:
    engine = app.state.engine.sync_engine
    counter = Counter()

    def on_execute(*args: Any) -> None:
        statement: str = args[2]
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            counter.statements.append(statement)

    def sent(conn: Any) -> bool:
        """Transaction control reaches the database unless the connection autocommits."""
        return conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT"

    def on_begin(conn: Any) -> None:
        counter.begins += sent(conn)

    def on_end(conn: Any) -> None:
        counter.ends += sent(conn)

    listeners = [
        ("before_cursor_execute", on_execute),
        ("begin", on_begin),
        ("commit", on_end),
        ("rollback", on_end),
    ]
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        yield counter
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)


@dataclass
class Scenario:
    interviews: list[tuple[str, str]]
    """(interview id, hiring manager's contact id), all shaped alike."""


async def make_scenario(api: httpx.AsyncClient, app: FastAPI) -> Scenario:
    """Three interviews that ended 10 days ago, each with a hiring manager, a referee, a
    thank-you email and a referee briefing; the due check-in opened by the scheduler, so a
    new email to the hiring manager completes it."""
    candidate = await create_candidate(api)
    starts = datetime.now(UTC) - timedelta(days=10, hours=1)
    interviews = []
    for _ in range(3):
        interview = await create_interview(
            api, candidate["id"], starts_at=starts.isoformat(), company="Northwind Traders"
        )
        manager = await create_contact(api, interview["id"])
        referee = await create_contact(api, interview["id"], name="Riley Park", role="referee")
        url = f"/v1/interviews/{interview['id']}/contact-attempts"
        for body in (
            {
                "channel": "email",
                "contact_id": manager["id"],
                "occurred_at": (starts + timedelta(days=1, hours=2)).isoformat(),
                "subject": "Thank you",
                "body": EMAIL,
            },
            {
                "channel": "email",
                "contact_id": referee["id"],
                "occurred_at": (starts + timedelta(days=1, hours=3)).isoformat(),
                "subject": "A heads-up",
                "body": EMAIL.replace("Morgan", "Riley"),
            },
        ):
            response = await api.post(url, json=body)
            assert response.status_code == 201, response.text
        interviews.append((interview["id"], manager["id"]))
    async with app.state.sessionmaker() as session, session.begin():
        assert await open_due_windows(session, utcnow()) > 0
    return Scenario(interviews)


def email(contact_id: str) -> dict[str, Any]:
    return {"channel": "email", "contact_id": contact_id, "subject": "Checking in", "body": EMAIL}


async def request(api: httpx.AsyncClient, route: str, target: tuple[str, str], n: int) -> None:
    """One request of `route` (the n-th: record routes use a fresh interview each time)."""
    interview_id, contact_id = target
    base = f"/v1/interviews/{interview_id}/contact-attempts"
    if route == "evaluate":
        response = await api.post(f"{base}/evaluate", json=email(contact_id))
    elif route == "record":
        response = await api.post(base, json=email(contact_id))
    elif route == "record_idempotent":
        headers = {"Idempotency-Key": f"statement-count-{n}"}
        response = await api.post(base, json=email(contact_id), headers=headers)
    elif route == "list_interviews":
        response = await api.get("/v1/interviews", params={"limit": 50})
    else:
        response = await api.get("/v1/followup-windows", params={"state": "open"})
    assert response.status_code in (200, 201), response.text
    if route.startswith("list_"):
        assert response.json()["data"], "the list must not be empty, or N+1 queries hide"


@pytest.mark.parametrize(
    "route", ["evaluate", "record", "record_idempotent", "list_interviews", "list_windows"]
)
async def test_statements_per_request_stay_within_the_ceiling(
    route: str, api: httpx.AsyncClient, app: FastAPI
) -> None:
    scenario = await make_scenario(api, app)
    await request(api, route, scenario.interviews[0], 0)  # warm-up
    with counting(app) as counter:
        await request(api, route, scenario.interviews[1], 1)
    backend = app.state.engine.dialect.name
    statements, round_trips = CEILINGS[backend][route]
    assert counter.statements, "the listener saw no statement: is it on the app's engine?"
    assert len(counter.statements) <= statements, counter.report()
    assert counter.round_trips <= round_trips, counter.report()


@pytest.mark.parametrize(
    "route", ["evaluate", "record", "record_idempotent", "list_interviews", "list_windows"]
)
async def test_a_repeated_request_compiles_no_new_statement(
    route: str, api: httpx.AsyncClient, app: FastAPI
) -> None:
    """The hot statements are built once with bind parameters, so their cache keys stay
    stable: a second request of the same shape finds every statement compiled already
    (a statement that embeds a value in its cache key would add an entry each time)."""
    scenario = await make_scenario(api, app)
    await request(api, route, scenario.interviews[0], 0)
    compiled = app.state.engine.sync_engine._compiled_cache
    assert compiled is not None, "the engine keeps no compiled cache"
    before = len(compiled)
    await request(api, route, scenario.interviews[1], 1)
    await request(api, route, scenario.interviews[2], 2)
    assert len(compiled) == before
