"""The few pieces of SQL that differ between PostgreSQL and SQLite, and running several
writes as one statement where the database allows it.

A request that changes something writes its row, its events and their deliveries in
one transaction (the outbox). On PostgreSQL those writes travel as one statement (each
a data-modifying `WITH` part); on SQLite, which has no such `WITH`, they run one by one
inside the same transaction, which costs no network round trip there.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    Text,
    bindparam,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Boolean

from app.db.base import UTCDateTime
from app.db.driver import fetch_all


class random_id(FunctionElement[str]):
    """A new opaque id made by the database: `<prefix>_` and 32 hex digits, the shape of
    `app.db.base.new_id`, for rows an `INSERT … SELECT` creates."""

    type = String()
    inherit_cache = True

    def __init__(self, prefix: str) -> None:
        super().__init__(literal(prefix + "_", String()))


@compiles(random_id, "postgresql")
def _random_id_pg(element: random_id, compiler: SQLCompiler, **kw: Any) -> str:
    prefix = compiler.process(element.clauses, **kw)
    return f"({prefix} || replace(CAST(gen_random_uuid() AS TEXT), '-', ''))"


@compiles(random_id, "sqlite")
def _random_id_sqlite(element: random_id, compiler: SQLCompiler, **kw: Any) -> str:
    prefix = compiler.process(element.clauses, **kw)
    return f"({prefix} || lower(hex(randomblob(16))))"


class subscribes(FunctionElement[bool]):
    """An endpoint's `event_types` (a JSON list; empty means every type) holds `event_type`."""

    type = Boolean()
    inherit_cache = True

    def __init__(self, event_types: ColumnElement[Any], event_type: ColumnElement[str]) -> None:
        super().__init__(event_types, event_type)


@compiles(subscribes, "postgresql")
def _subscribes_pg(element: subscribes, compiler: SQLCompiler, **kw: Any) -> str:
    types, event_type = (compiler.process(clause, **kw) for clause in element.clauses)
    listed = f"CAST({types} AS JSONB)"
    return f"(jsonb_array_length({listed}) = 0 OR {listed} @> jsonb_build_array({event_type}))"


@compiles(subscribes, "sqlite")
def _subscribes_sqlite(element: subscribes, compiler: SQLCompiler, **kw: Any) -> str:
    types, event_type = (compiler.process(clause, **kw) for clause in element.clauses)
    return (
        f"(json_array_length({types}) = 0 OR EXISTS "
        f"(SELECT 1 FROM json_each({types}) WHERE json_each.value = {event_type}))"
    )


DEFERRED = "followup.deferred_writes"
"""`session.info` key: a list set by whoever owns an autocommit session on PostgreSQL,
where `write_together` leaves its writes instead of sending them; the owner sends them
with its own (`send_deferred`) as one statement, which is atomic on its own."""


async def write_together(
    session: AsyncSession,
    writes: tuple[UpdateBase, ...],
    params: dict[str, Any],
    *,
    notify: str | None = None,
) -> None:
    """Run `writes` (prebuilt statements with bind parameters, all filled from `params`)
    in order in the session's transaction, and `pg_notify(notify)` after them on
    PostgreSQL: there all of it is one statement, one round trip (or, deferred, part of
    the owner's one statement), sent straight to the driver on an autocommit connection
    (`app.db.driver`)."""
    if session.get_bind().dialect.name != "postgresql":
        for write in writes:
            await session.execute(write, params)
        return
    deferred: list[tuple[tuple[UpdateBase, ...], dict[str, Any], str | None]] | None
    deferred = session.info.get(DEFERRED)
    if deferred is None:
        await fetch_all(session, _together(writes, notify), params)
    elif deferred:
        # Two deferred changes would not be one statement (nor share parameter names).
        raise RuntimeError("a deferring session takes one write_together at most")
    else:
        deferred.append((writes, params, notify))


async def send_deferred(
    session: AsyncSession, writes: tuple[UpdateBase, ...] = (), params: dict[str, Any] | None = None
) -> None:
    """Send the session's deferred change (see `DEFERRED`) followed by `writes`, as one
    statement, and stop deferring."""
    deferred = session.info.pop(DEFERRED, None) or []
    notify = None
    values: dict[str, Any] = {}
    for own, own_params, own_notify in deferred:
        writes = (*own, *writes)
        values.update(own_params)
        notify = own_notify
    values.update(params or {})
    if writes:
        await fetch_all(session, _together(writes, notify), values)


@lru_cache(maxsize=64)
def _together(writes: tuple[UpdateBase, ...], notify: str | None) -> Select[Any]:
    """The writes as the data-modifying parts of one `WITH`, built once per combination
    (the statements themselves are built once): its cache key is computed once too."""
    last: ColumnElement[Any] = (
        literal_column("1")
        if notify is None
        else func.pg_notify(literal(notify, String()), literal("", String()))
    )
    ctes = (write.cte(f"write_{index}") for index, write in enumerate(writes))
    return select(last).add_cte(*ctes)


class utc_text(FunctionElement[str]):
    """A timestamp written as the API writes it (`app.clock.format_utc`: RFC 3339 in UTC
    with `Z`, microseconds only when there are some), for JSON the database builds."""

    type = String()
    inherit_cache = True


@compiles(utc_text, "postgresql")
def _utc_text_pg(element: utc_text, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    return (
        f"to_char({value} AT TIME ZONE 'UTC', CASE WHEN date_trunc('second', {value}) = "
        f"""{value} THEN 'YYYY-MM-DD"T"HH24:MI:SS"Z"' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"' END)"""
    )


def json_document(fields: Iterable[tuple[str, ColumnElement[Any]]]) -> ColumnElement[Any]:
    """PostgreSQL: a JSON object of these (name, value) pairs, in this order, with
    timestamps in the API's form: what `pydantic_core.to_json` writes of the same row."""
    arguments: list[Any] = []
    for name, value in fields:
        if isinstance(value.type, UTCDateTime):
            value = utc_text(value)
        arguments += [literal_column(f"'{name}'"), value]
    return func.json_build_object(*arguments)


def folded_page(paged: Select[Any], *, descending: bool) -> Select[Any]:
    """PostgreSQL: a page query's rows, (JSON document, sort value, id) in page order and
    `page_limit` (`page_size` + 1) of them at most, as one row: `documents`, the first
    `page_size` documents as one JSON array (text); `fetched`, how many rows there were;
    and `last_sort`, `last_id`, the sort value and id of the page's last document, which
    make the next page's cursor when `fetched` exceeds `page_size`. The route sends the
    array as it is: no row, document or value of the page passes through Python."""
    rows = paged.subquery()
    document, sort, row_id = rows.c
    order = (sort.desc(), row_id.desc()) if descending else (sort, row_id)
    size = bindparam("page_size", type_=Integer())
    documents = func.array_to_json(func.array_agg(aggregate_order_by(document, *order))[1:size])
    return select(
        sql_cast(func.coalesce(documents, literal_column("'[]'::json")), Text).label("documents"),
        func.count().label("fetched"),
        func.array_agg(aggregate_order_by(sort, *order))[size].label("last_sort"),
        func.array_agg(aggregate_order_by(row_id, *order))[size].label("last_id"),
    ).select_from(rows)
