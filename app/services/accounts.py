"""Accounts (tenants) and their API keys. Keys are stored as SHA-256 hashes only."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    CompoundSelect,
    Select,
    String,
    Table,
    and_,
    bindparam,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.driver import fetch_all
from app.db.models import Account, ApiKey, IdempotencyRecord, Interview
from app.db.session import attach
from app.errors import NotFoundError, UnauthorizedError
from app.services.idempotency import KeyRecord
from app.services.pagination import EncodedPage, PageRequest, paginate

KEY_PREFIX = "fu_"


def hash_key(plain: str) -> str:
    """API keys carry 256 random bits, so a fast unsalted hash is enough to store them."""
    return hashlib.sha256(plain.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    plain: str


async def issue_key(session: AsyncSession, account_id: str, name: str | None) -> IssuedKey:
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(account_id=account_id, name=name, prefix=plain[:10], key_hash=hash_key(plain))
    session.add(key)
    await session.flush()
    return IssuedKey(key=key, plain=plain)


async def create_account(session: AsyncSession, name: str) -> tuple[Account, IssuedKey]:
    account = Account(name=name)
    session.add(account)
    await session.flush()
    issued = await issue_key(session, account.id, "default")
    return account, issued


_ACCOUNTS = cast(Table, Account.__table__)
_KEYS = cast(Table, ApiKey.__table__)
_INTERVIEWS = cast(Table, Interview.__table__)
_IDEMPOTENCY = cast(Table, IdempotencyRecord.__table__)
_LIVE_KEY = and_(
    _KEYS.c.key_hash == bindparam("key_hash", type_=String()), _KEYS.c.revoked_at.is_(None)
)
CALLER_ACCOUNT = select(_KEYS.c.account_id).where(_LIVE_KEY).scalar_subquery()
"""The account of the request's live key (`key_hash`), as a subquery: a companion of the
caller's statement (`identify`) filters by it, so its rows are the caller's alone."""
_ACCOUNT_COLUMNS = {f"account_{column.key}": column.key for column in _ACCOUNTS.c}
_INTERVIEW_COLUMNS = {f"interview_{column.key}": column.key for column in _INTERVIEWS.c}
_RECORD_COLUMNS = {f"idempotency_{name}": name for name in KeyRecord.__dataclass_fields__}


Companion = tuple[Select[Any], ...]
"""Statements a route needs besides the caller, sent with the caller's statement as one
`UNION ALL` (`identify`): parts with the same labelled columns, the first of which is
`row` (never null: it tells the parts apart). Their parameters are the caller's
(`interview_id`) or their own, passed to `identify`."""


@lru_cache
def _caller_statement(
    with_interview: bool, with_key: bool, companion: Companion = ()
) -> Select[Any] | CompoundSelect[Any]:
    """The account of a live key, with (outer joined) the account's interview named in the
    path and the record of the request's `Idempotency-Key`, and the `companion` rows: what
    a request needs first, in one round trip. Built once per shape, Core
    (`app.db.session.attach` makes ORM objects of the rows): a request pays no statement
    building and no ORM loading."""
    joined = _ACCOUNTS.join(_KEYS, _KEYS.c.account_id == _ACCOUNTS.c.id)
    columns: list[Any] = [_ACCOUNTS.c[key].label(label) for label, key in _ACCOUNT_COLUMNS.items()]
    if with_interview:
        joined = joined.outerjoin(
            _INTERVIEWS,
            and_(
                _INTERVIEWS.c.id == bindparam("interview_id", type_=String()),
                _INTERVIEWS.c.account_id == _ACCOUNTS.c.id,
            ),
        )
        columns += [_INTERVIEWS.c[key].label(label) for label, key in _INTERVIEW_COLUMNS.items()]
    if with_key:
        joined = joined.outerjoin(
            _IDEMPOTENCY,
            and_(
                _IDEMPOTENCY.c.scope == _ACCOUNTS.c.id,
                _IDEMPOTENCY.c.key == bindparam("idempotency_key", type_=String()),
            ),
        )
        columns += [_IDEMPOTENCY.c[key].label(label) for label, key in _RECORD_COLUMNS.items()]
    if not companion:
        return select(*columns).select_from(joined).where(_LIVE_KEY)
    # Every part of a UNION has every column: each fills its own, the rest are typed nulls.
    theirs = list(companion[0].selected_columns)
    caller = select(*columns, *_nulls(theirs)).select_from(joined).where(_LIVE_KEY)
    return union_all(
        caller,
        *(part.with_only_columns(*_nulls(columns), *part.selected_columns) for part in companion),
    )


def _nulls(columns: list[Any]) -> list[Any]:
    return [null().cast(column.type).label(column.key) for column in columns]


@dataclass(frozen=True)
class Credential:
    """An API key as the request sent it, not checked yet: a list reads with it and
    authenticates in the same statement (`identify` with a companion)."""

    plain: str


@dataclass(frozen=True)
class Caller:
    """Who is calling, and what the first statement of the request loaded with it."""

    account: Account
    interview: Interview | None = None
    """The account's interview named in the path, when one was asked for and exists."""
    key_record: KeyRecord | None = None
    """The stored record of the request's `Idempotency-Key`, when one was asked for and
    exists."""
    companion: Sequence[Any] = ()
    """The rows of the companion statement, when one was asked for."""


UNAUTHORIZED = "The API key is missing, unknown or revoked."


async def identify(
    session: AsyncSession,
    plain: str,
    *,
    interview_id: str | None = None,
    idempotency_key: str | None = None,
    companion: Companion = (),
    params: Mapping[str, Any] | None = None,
) -> Caller:
    """The account of a live key (or 401) with, in the same round trip, the account's
    interview `interview_id`, the record of `idempotency_key` and the `companion` rows,
    where asked for (`params` are the companion's). A companion's rows come whoever the
    caller is: use them only once the caller is known to own what they describe, or
    filter them by `CALLER_ACCOUNT`."""
    statement = _caller_statement(interview_id is not None, idempotency_key is not None, companion)
    bound = {
        **(params or {}),
        "key_hash": hash_key(plain),
        "interview_id": interview_id,
        "idempotency_key": idempotency_key,
    }
    rows = await fetch_all(session, statement, bound)
    if companion:
        found = [row for row in rows if row.row is None]
        row = found[0] if found else None
        others = [row for row in rows if row.row is not None]
    else:
        row, others = (rows[0] if rows else None), []
    if row is None:
        raise UnauthorizedError(UNAUTHORIZED)
    values = row._asdict()
    account = attach(
        session, Account, {key: values[label] for label, key in _ACCOUNT_COLUMNS.items()}
    )
    interview = None
    if interview_id is not None and values["interview_id"] is not None:
        columns = {key: values[label] for label, key in _INTERVIEW_COLUMNS.items()}
        interview = attach(session, Interview, columns)
    record = None
    if idempotency_key is not None and values["idempotency_request_hash"] is not None:
        record = KeyRecord(**{key: values[label] for label, key in _RECORD_COLUMNS.items()})
    return Caller(account, interview, record, others)


async def folded_page_of(
    session: AsyncSession,
    owner: str | Credential,
    folded: Select[Any],
    params: Mapping[str, Any],
    page: PageRequest,
) -> EncodedPage:
    """PostgreSQL: a list's page from its `folded` statement (`app.db.sql.folded_page`,
    with a `row` label), for an account id or, in the same statement, for the caller's
    key (the statement then filters by `CALLER_ACCOUNT`)."""
    if isinstance(owner, Credential):
        caller = await identify(session, owner.plain, companion=(folded,), params=params)
        return EncodedPage.unfold(caller.companion[0], page)
    row = (await session.execute(folded, {**params, "account_id": owner})).one()
    return EncodedPage.unfold(row, page)


async def account_id_of(session: AsyncSession, owner: str | Credential) -> str:
    """The account id itself, or the caller's (401 for a key that is not live)."""
    if isinstance(owner, Credential):
        return (await identify(session, owner.plain)).account.id
    return owner


async def authenticate(session: AsyncSession, plain: str) -> Account:
    """The account of a live key, or 401."""
    return (await identify(session, plain)).account


async def list_keys(
    session: AsyncSession, account_id: str, page: PageRequest
) -> tuple[list[ApiKey], str | None]:
    stmt = select(ApiKey).where(ApiKey.account_id == account_id, ApiKey.revoked_at.is_(None))
    return await paginate(session, stmt, page, sort=ApiKey.created_at, tiebreak=ApiKey.id)


async def revoke_key(session: AsyncSession, account_id: str, key_id: str, now: datetime) -> None:
    key = await session.scalar(
        select(ApiKey).where(
            ApiKey.id == key_id, ApiKey.account_id == account_id, ApiKey.revoked_at.is_(None)
        )
    )
    if key is None:
        raise NotFoundError("No such API key.")
    key.revoked_at = now
    await session.flush()
