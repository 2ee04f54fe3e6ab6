"""Keyset pagination: a stable order (sort column, then id) and an opaque cursor."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Column, Integer, Row, Select, and_, bindparam, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.errors import InputError

T = TypeVar("T")

MIN_TIME = datetime(1, 1, 2, tzinfo=UTC)
MAX_TIME = datetime(9999, 12, 30, tzinfo=UTC)
"""Times any database here can compare; outside them a cursor was forged."""


@dataclass(frozen=True)
class PageRequest:
    """One page of a list, and the sync window it is taken from (bounds exclusive)."""

    limit: int = 50
    cursor: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None


def encode_cursor(sort_value: datetime, row_id: str) -> str:
    raw = json.dumps([sort_value.isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_ROW_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What an id this service made looks like; anything else in a cursor was forged."""


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor names, or 422 for anything this service did not write
    (bad base64 or JSON, a time out of range or without offset, a foreign id)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort_text, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        sort_value = datetime.fromisoformat(sort_text)
        if sort_value.tzinfo is None or not isinstance(row_id, str):
            raise ValueError("malformed cursor")
        sort_value = sort_value.astimezone(UTC)
        if not MIN_TIME <= sort_value <= MAX_TIME or not _ROW_ID.fullmatch(row_id):
            raise ValueError("cursor out of range")
    except (ValueError, TypeError, OverflowError, binascii.Error) as exc:
        raise InputError("The cursor is not valid for this list.", ["query", "cursor"]) from exc
    return sort_value, row_id


SortKey = InstrumentedAttribute[Any] | Column[Any]
"""An ORM attribute, or a table's column (for statements that load no ORM object)."""


def _columns_of(tiebreak: SortKey) -> Any:
    """What holds the listed rows' `created_at` (and `updated_at`): the mapped class, or
    the table's columns."""
    if isinstance(tiebreak, Column):
        return tiebreak.table.c
    return tiebreak.class_


def _within_sync_window(stmt: Select[tuple[T]], page: PageRequest, entity: Any) -> Select[tuple[T]]:
    if page.created_after is not None:
        stmt = stmt.where(entity.created_at > page.created_after)
    if page.created_before is not None:
        stmt = stmt.where(entity.created_at < page.created_before)
    if page.updated_after is not None:
        updated = getattr(entity, "updated_at", entity.created_at)
        stmt = stmt.where(updated > page.updated_after)
    return stmt


def page_query(
    stmt: Select[tuple[T]],
    page: PageRequest,
    *,
    sort: SortKey,
    tiebreak: SortKey,
    descending: bool = True,
) -> Select[tuple[T]]:
    """`stmt` within the page's sync bounds, limited to the page after the cursor, plus
    one row (to know if more follow).

    The sync bounds apply to the listed entity's `created_at` and `updated_at`; an entity
    that never changes after it is created (no `updated_at`) was last changed then.
    """
    stmt = _within_sync_window(stmt, page, _columns_of(tiebreak))
    if page.cursor is not None:
        sort_value, row_id = decode_cursor(page.cursor)
        stmt = stmt.where(_after(sort, tiebreak, sort_value, row_id, descending))
    return stmt.order_by(*_order(sort, tiebreak, descending)).limit(page.limit + 1)


def _after(sort: Any, tiebreak: Any, sort_value: Any, row_id: Any, descending: bool) -> Any:
    """Rows after the cursor's (sort value, id) in the list's order."""
    if descending:
        return or_(sort < sort_value, and_(sort == sort_value, tiebreak < row_id))
    return or_(sort > sort_value, and_(sort == sort_value, tiebreak > row_id))


def _order(sort: Any, tiebreak: Any, descending: bool) -> tuple[Any, Any]:
    return (sort.desc(), tiebreak.desc()) if descending else (sort.asc(), tiebreak.asc())


@dataclass(frozen=True)
class Keyset:
    """A page request as bind parameters: `shape` says which bounds it uses (a statement
    is built once per shape), `params` fills them."""

    shape: tuple[bool, bool, bool, bool]
    """(created_after, created_before, updated_after, cursor) given."""
    params: dict[str, Any]


def keyset(page: PageRequest) -> Keyset:
    params: dict[str, Any] = {"page_limit": page.limit + 1, "page_size": page.limit}
    if page.created_after is not None:
        params["created_after"] = page.created_after
    if page.created_before is not None:
        params["created_before"] = page.created_before
    if page.updated_after is not None:
        params["updated_after"] = page.updated_after
    if page.cursor is not None:
        params["cursor_sort"], params["cursor_id"] = decode_cursor(page.cursor)
    shape = (
        page.created_after is not None,
        page.created_before is not None,
        page.updated_after is not None,
        page.cursor is not None,
    )
    return Keyset(shape, params)


def keyset_query(
    stmt: Select[tuple[T]],
    shape: tuple[bool, bool, bool, bool],
    *,
    sort: Column[Any],
    tiebreak: Column[Any],
    descending: bool = True,
) -> Select[tuple[T]]:
    """`page_query` with bind parameters instead of values (`keyset`): built once per
    shape, then executed with each request's `Keyset.params`."""
    created_after, created_before, updated_after, cursor = shape
    columns = tiebreak.table.c
    if created_after:
        stmt = stmt.where(columns.created_at > bindparam("created_after", type_=sort.type))
    if created_before:
        stmt = stmt.where(columns.created_at < bindparam("created_before", type_=sort.type))
    if updated_after:
        updated = columns.updated_at if "updated_at" in columns else columns.created_at
        stmt = stmt.where(updated > bindparam("updated_after", type_=sort.type))
    if cursor:
        sort_value = bindparam("cursor_sort", type_=sort.type)
        row_id = bindparam("cursor_id", type_=tiebreak.type)
        stmt = stmt.where(_after(sort, tiebreak, sort_value, row_id, descending))
    limit = bindparam("page_limit", type_=Integer())
    return stmt.order_by(*_order(sort, tiebreak, descending)).limit(limit)


def page_of(
    rows: list[T],
    page: PageRequest,
    *,
    sort: SortKey,
    tiebreak: SortKey,
) -> tuple[list[T], str | None]:
    """The rows (objects, or documents: dicts) of a `page_query` cut to the page, and the
    cursor to the next (or None)."""
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    last: Any = rows[-1]
    if isinstance(last, Mapping):
        return rows, encode_cursor(last[sort.key], last[tiebreak.key])
    return rows, encode_cursor(getattr(last, sort.key), getattr(last, tiebreak.key))


@dataclass(frozen=True)
class EncodedPage:
    """A page whose items are JSON already: `documents` is the text of their array."""

    documents: str
    next_cursor: str | None

    @classmethod
    def of(cls, items: Sequence[str], next_cursor: str | None) -> EncodedPage:
        return cls("[" + ",".join(items) + "]", next_cursor)

    @classmethod
    def unfold(cls, row: Row[Any], page: PageRequest) -> EncodedPage:
        """The page from the row of `app.db.sql.folded_page`."""
        more = row.fetched > page.limit
        return cls(row.documents, encode_cursor(row.last_sort, row.last_id) if more else None)


async def paginate(
    session: AsyncSession,
    stmt: Select[tuple[T]],
    page: PageRequest,
    *,
    sort: InstrumentedAttribute[datetime],
    tiebreak: InstrumentedAttribute[str],
    descending: bool = True,
) -> tuple[list[T], str | None]:
    """One page of `stmt`, ordered by (sort, id); the cursor resumes after the last row."""
    query = page_query(stmt, page, sort=sort, tiebreak=tiebreak, descending=descending)
    rows = list((await session.scalars(query)).all())
    return page_of(rows, page, sort=sort, tiebreak=tiebreak)
