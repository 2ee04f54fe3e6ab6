"""Engine and session factory. SQLite gets WAL, foreign keys and a busy timeout.

Rows are stamped (`created_at`, `updated_at`) at flush with the session's clock
reading, `session.info[NOW]`: the request's one `now`, or the worker step's. A session
that was given none reads the clock at flush.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, UOWTransaction, configure_mappers, make_transient_to_detached
from sqlalchemy.util import await_only

from app.clock import utcnow
from app.db.base import Base, TimestampMixin
from app.db.write_turns import write_turn

NOW = "followup.now"
"""`session.info` key: the instant this unit of work happens at."""
WROTE_EVENTS = "followup.wrote_events"
"""`session.info` key: this unit of work wrote events. Whoever commits it wakes a worker
in the same process (`followup serve`), which on SQLite has no NOTIFY to hear."""
PRELOADED = "followup.preloaded"
"""`session.info` key: (interview id, rows) a later step of the request needs, which the
caller's statement brought along (`app.services.accounts.identify`'s companion)."""


def session_now(session: Session | AsyncSession) -> datetime:
    now: datetime | None = session.info.get(NOW)
    return now if now is not None else utcnow()


@event.listens_for(Session, "before_flush")
def _stamp(session: Session, _context: UOWTransaction, _instances: Any) -> None:
    now = session_now(session)
    for row in session.new:
        if getattr(row, "created_at", False) is None:
            row.created_at = now
        if isinstance(row, TimestampMixin) and row.updated_at is None:
            row.updated_at = now
    for row in session.dirty:
        if isinstance(row, TimestampMixin) and session.is_modified(row):
            row.updated_at = now


M = TypeVar("M", bound=Base)


def attach(session: AsyncSession, model: type[M], values: Mapping[str, Any]) -> M:
    """A row read with a Core statement, as if the ORM had loaded it: persistent in
    `session`, every attribute committed (none a pending change), so a later flush
    writes only what is changed then. An object the session already holds wins.

    Loading through the ORM costs about twice a Core statement's CPU; the hot paths read
    with Core and attach what they may later change."""
    sync = session.sync_session
    mapper = inspect(model)
    held = sync.identity_map.get(mapper.identity_key_from_primary_key((values["id"],)))
    if held is not None:
        return cast(M, held)
    # As the ORM's loader does: the values go straight into the instance's dict, not
    # through each attribute's change events (a third of the cost), then become its
    # committed state in `make_transient_to_detached`.
    if not mapper.configured:
        configure_mappers()
    row = cast(M, mapper.class_manager.new_instance())
    row.__dict__.update(values)
    make_transient_to_detached(row)
    sync.add(row)
    return row


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


POOL_SIZE = 15
"""PostgreSQL connections per process at most (docs/deployment.md, the connection budget)."""


SQLITE_BUSY_TIMEOUT = 30.0
"""Seconds a SQLite writer waits for the database (its turn, then SQLite's lock)."""
_HOLDS_TURN = "followup_write_turn"
"""Pool connection `info` key: its transaction holds the database's write turn."""


def create_engine(url: str) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT}, hide_parameters=True
        )
        turn = write_turn(url)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy's "begin" hook start transactions, so they can be IMMEDIATE.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(connection: Any) -> None:
            # A writer takes the write lock up front: a deferred transaction that later
            # writes fails at once with SQLITE_BUSY instead of waiting its turn. A reader
            # (see `reader`) starts a deferred one and never waits for the writer (WAL).
            if connection.get_execution_options().get(READ_ONLY):
                connection.exec_driver_sql("BEGIN")
                return
            # Writers queue for their turn first (`app.db.write_turns`), awaited on the
            # event loop like any driver call, so waiting blocks no other request.
            if await_only(turn.take(SQLITE_BUSY_TIMEOUT)):
                connection.info[_HOLDS_TURN] = True
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _end_turn(connection)
                raise

        @event.listens_for(engine.sync_engine, "commit")
        @event.listens_for(engine.sync_engine, "rollback")
        def _end_turn(connection: Any) -> None:
            if connection.info.pop(_HOLDS_TURN, False):
                turn.give_back()

        @event.listens_for(engine.sync_engine, "checkin")
        def _checked_in(_dbapi_connection: Any, record: Any) -> None:
            # A connection handed back without COMMIT or ROLLBACK events (invalidated).
            if record.info.pop(_HOLDS_TURN, False):
                turn.give_back()

        return engine
    # No pre-ping round trip per checkout: a connection the server dropped fails its
    # request with 503 (the client retries) and is replaced; recycling keeps connections
    # younger than any idle timeout a proxy in between may have. All 15 connections are
    # kept once opened, none "on demand": an overflow connection is closed as soon as it
    # is handed back, so a load just above the kept size would open and close one (a
    # PostgreSQL backend process) every few requests. Parameters carry secrets and
    # personal data: never in logs or error messages.
    return create_async_engine(
        url, pool_size=POOL_SIZE, max_overflow=0, pool_recycle=1800, hide_parameters=True
    )


READ_ONLY = "followup_read_only"
"""Execution option of the reading engine (`reader`)."""


def reader(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, for requests that only read: no write lock on SQLite, and no
    BEGIN/COMMIT round trips on PostgreSQL (each statement runs on its own)."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{READ_ONLY: True})
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
