"""The hottest statements sent straight to asyncpg, past SQLAlchemy's execution layer.

Every authenticated request starts with one statement (`accounts.identify`), and a
change on PostgreSQL is one more (`sql.write_together`: the row, its events and
deliveries in one data-modifying `WITH`). Through SQLAlchemy's session, compiled cache,
cursor adapter and greenlet bridge, identify's cost about 200 µs of CPU on the client;
sent to asyncpg directly, about 70 µs. `evaluate` and `record` need about a fifth less
CPU per request (`bench/PROFILE.md`). It is done only where nothing changes for the
statement: on PostgreSQL, on a connection in autocommit (the reading and write-once
sessions), where a statement runs on its own anyway. Inside a transaction SQLAlchemy
sends it, so it stays in that transaction.

What SQLAlchemy would have done is kept. The statement is compiled once by the
connection's dialect (its bind casts included). Values go through the bind parameters'
type processors and results through the columns' result processors. The engine's
`before_cursor_execute` listeners see the statement. A driver error becomes the
`DBAPIError` SQLAlchemy would raise; if the connection is gone, it is first invalidated,
so the pool replaces it and the problem handlers answer 503 as for any statement.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import CompoundSelect

Processor = Callable[[Any], Any] | None

_ERRORS: tuple[tuple[type[BaseException], type[sa_exc.DBAPIError]], ...] = (
    (asyncpg.IntegrityConstraintViolationError, sa_exc.IntegrityError),
    (asyncpg.SyntaxOrAccessError, sa_exc.ProgrammingError),
    (asyncpg.DataError, sa_exc.DataError),
    (asyncpg.QueryCanceledError, sa_exc.OperationalError),
    (asyncpg.InterfaceError, sa_exc.InterfaceError),
)
"""asyncpg's errors as SQLAlchemy's asyncpg dialect reports them; any other is a
`DBAPIError`."""


@dataclass(frozen=True)
class _Prepared:
    compiled: SQLCompiler
    names: tuple[str, ...]
    """Bind parameter names in the order of `$1`, `$2`, …"""
    binds: dict[str, Processor]
    results: tuple[Processor, ...]
    row: Callable[..., Any]


def tuple_row(*values: Any) -> tuple[Any, ...]:
    """A row whose columns have no usable names (`SELECT 1`): a plain tuple."""
    return values


@lru_cache(maxsize=256)
def _prepare(statement: Select[Any] | CompoundSelect[Any], dialect: Dialect) -> _Prepared | None:
    """Compiled once per statement (the callers build theirs once); None for a statement
    this path does not take (one with a list parameter)."""
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    if compiled.positiontup is None or any(b.expanding for b in compiled.binds.values()):
        return None
    columns = list(statement.selected_columns)
    keys = [column.key or "" for column in columns]
    named = all(key.isidentifier() and not key.startswith("_") for key in keys)
    return _Prepared(
        compiled=compiled,
        names=tuple(compiled.positiontup),
        binds={
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
        },
        results=tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ),
        row=namedtuple("Row", keys) if named else tuple_row,
    )


def autocommits(conn: AsyncConnection) -> bool:
    options = conn.sync_connection.get_execution_options() if conn.sync_connection else {}
    return options.get("isolation_level") == "AUTOCOMMIT"


async def fetch_all(
    session: AsyncSession,
    statement: Select[Any] | CompoundSelect[Any],
    params: Mapping[str, Any],
) -> Sequence[Any]:
    """The rows of a statement (a read, or writes in one data-modifying `WITH`), each
    with its columns as attributes and `_asdict()` when they are named."""
    conn = await session.connection()
    prepared = (
        _prepare(statement, conn.dialect)
        if conn.dialect.name == "postgresql" and autocommits(conn)
        else None
    )
    if prepared is None:
        return (await conn.execute(statement, params)).all()
    values = prepared.compiled.construct_params(params)
    args = []
    for name in prepared.names:
        value = values[name]
        process = prepared.binds[name]
        args.append(process(value) if process is not None and value is not None else value)
    sql = prepared.compiled.string
    sync = conn.sync_connection
    assert sync is not None
    if sync.dispatch.before_cursor_execute:
        sync.dispatch.before_cursor_execute(sync, None, sql, tuple(args), None, False)
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    try:
        records = await driver.fetch(sql, *args)
    except Exception as error:
        raise await _translated(conn, driver, error, sql) from error
    results, row = prepared.results, prepared.row
    return [
        row(*[value if p is None else p(value) for p, value in zip(results, record, strict=True)])
        for record in records
    ]


async def _translated(
    conn: AsyncConnection, driver: Any, error: Exception, sql: str
) -> sa_exc.DBAPIError:
    """The error SQLAlchemy would have raised; a connection that is gone is invalidated."""
    gone = driver.is_closed() or isinstance(error, (OSError, asyncpg.PostgresConnectionError))
    if gone:
        await conn.invalidate(error)
        return sa_exc.OperationalError(
            sql, None, error, hide_parameters=True, connection_invalidated=True
        )
    kind = next((sa for pg, sa in _ERRORS if isinstance(error, pg)), sa_exc.DBAPIError)
    return kind(sql, None, error, hide_parameters=True)
