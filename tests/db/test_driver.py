"""`app.db.driver.fetch_all`: on PostgreSQL's autocommit connections straight to asyncpg,
with what SQLAlchemy would have given (values, types, events, errors); elsewhere through
SQLAlchemy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import bindparam, column, event, insert, select, table, text
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import driver
from app.db.driver import fetch_all
from app.db.faults import database_unavailable, database_unmigrated
from app.db.models import Account
from app.db.session import create_engine, create_sessionmaker, reader
from app.db.sql import write_together
from app.services.accounts import _caller_statement, hash_key
from app.services.attempts import HISTORY_WITH_WINDOWS_PARTS
from tests.api.factories import create_candidate, create_contact, create_interview
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(
    PG_URL is None, reason="the driver path is PostgreSQL's: set FOLLOWUP_TEST_DATABASE_URL"
)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def _caller(api: httpx.AsyncClient) -> tuple[Any, dict[str, Any]]:
    """`identify`'s statement with the history companion, and its parameters, for an
    interview with a contact and windows."""
    key = api.headers["Authorization"].removeprefix("Bearer ")
    candidate = await create_candidate(api)
    interview = await create_interview(api, candidate["id"], starts_at="2026-11-02T10:00:00Z")
    await create_contact(api, interview["id"])
    statement = _caller_statement(True, False, HISTORY_WITH_WINDOWS_PARTS)
    params = {
        "key_hash": hash_key(key),
        "interview_id": interview["id"],
        "idempotency_key": None,
    }
    return statement, params


async def test_rows_carry_what_sqlalchemy_would_have_given(
    engine: AsyncEngine, api: httpx.AsyncClient
) -> None:
    statement, params = await _caller(api)
    sessions = create_sessionmaker(reader(engine))
    async with sessions() as session:
        fast = await fetch_all(session, statement, params)
        slow = (await (await session.connection()).execute(statement, params)).all()
    assert len(fast) == len(slow) > 3  # the caller, a contact, windows, the candidate
    for ours, theirs in zip(fast, slow, strict=True):
        assert ours._asdict() == theirs._asdict()
        assert [type(v) for v in ours] == [type(v) for v in theirs]


async def test_listeners_see_the_statement(engine: AsyncEngine, api: httpx.AsyncClient) -> None:
    statement, params = await _caller(api)
    seen: list[str] = []

    def listener(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        seen.append(sql)

    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    try:
        async with create_sessionmaker(reader(engine))() as session:
            await fetch_all(session, statement, params)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listener)
    assert len(seen) == 1 and seen[0].lstrip().startswith("SELECT")


async def test_inside_a_transaction_sqlalchemy_sends_it(
    engine: AsyncEngine, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement in a transaction stays in it: the driver path is not taken."""
    statement, params = await _caller(api)
    taken: list[object] = []
    monkeypatch.setattr(driver, "_prepare", lambda *args: taken.append(args))
    async with create_sessionmaker(engine)() as session, session.begin():
        rows = await fetch_all(session, statement, params)
    assert rows and taken == []
    async with create_sessionmaker(reader(engine))() as session:
        await fetch_all(session, statement, params)
    assert len(taken) == 1, "on an autocommit connection the driver path is asked"


async def test_a_dropped_connection_is_invalidated_and_says_unavailable(
    engine: AsyncEngine, api: httpx.AsyncClient
) -> None:
    statement, params = await _caller(api)
    sessions = create_sessionmaker(reader(engine))
    async with sessions() as session:
        conn = await session.connection()
        pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await other.commit()
        with pytest.raises(OperationalError) as raised:
            await fetch_all(session, statement, params)
        assert conn.invalidated, "not handed back to the pool as if usable"
    assert raised.value.connection_invalidated
    assert database_unavailable(raised.value)
    async with sessions() as session:  # the pool replaced it
        assert len(await fetch_all(session, statement, params)) > 1


async def test_a_missing_table_says_unmigrated(engine: AsyncEngine) -> None:
    missing = select(table("no_such_table", column("id")).c.id)
    async with create_sessionmaker(reader(engine))() as session:
        with pytest.raises(ProgrammingError) as raised:
            await fetch_all(session, missing, {})
    assert database_unmigrated(raised.value)
    assert "no_such_table" not in str(raised.value.params or "")


async def test_writes_in_one_statement_keep_their_types_and_their_conflicts(
    engine: AsyncEngine,
) -> None:
    """`write_together` on an autocommit connection: a JSON value and a timestamp arrive
    as SQLAlchemy would send them, and a duplicate key is SQLAlchemy's IntegrityError."""
    accounts = Account.__table__
    write = insert(accounts).values(
        id=bindparam("id"),
        name=bindparam("name"),
        policy=bindparam("policy", type_=accounts.c.policy.type),
        created_at=bindparam("at", type_=accounts.c.created_at.type),
        updated_at=bindparam("at", type_=accounts.c.updated_at.type),
    )
    at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    params = {"id": "acct_driver", "name": "Driver", "policy": {"limits": [1, 2]}, "at": at}
    sessions = create_sessionmaker(reader(engine))
    async with sessions() as session:
        await write_together(session, (write,), params)
    async with sessions() as session:
        stored = (
            await session.execute(
                select(accounts.c.policy, accounts.c.created_at).where(
                    accounts.c.id == "acct_driver"
                )
            )
        ).one()
        assert stored.policy == {"limits": [1, 2]}
        assert stored.created_at == at
        with pytest.raises(IntegrityError):
            await write_together(session, (write,), params)
