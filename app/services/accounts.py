"""Accounts (tenants) and their API keys. Keys are stored as SHA-256 hashes only."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Select, String, Table, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Account, ApiKey, IdempotencyRecord, Interview
from app.db.session import attach
from app.errors import NotFoundError, UnauthorizedError
from app.services.idempotency import KeyRecord
from app.services.pagination import PageRequest, paginate

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
_ACCOUNT_COLUMNS = tuple(column.key for column in _ACCOUNTS.c)
_INTERVIEW_COLUMNS = {f"interview_{column.key}": column.key for column in _INTERVIEWS.c}
_RECORD_COLUMNS = {f"idempotency_{name}": name for name in KeyRecord.__dataclass_fields__}


@lru_cache
def _caller_statement(with_interview: bool, with_key: bool) -> Select[Any]:
    """The account of a live key, with (outer joined) the account's interview named in the
    path and the record of the request's `Idempotency-Key`: what a request needs first, in
    one round trip. Built once per shape, Core (`app.db.session.attach` makes ORM objects
    of the rows): a request pays no statement building and no ORM loading."""
    joined = _ACCOUNTS.join(_KEYS, _KEYS.c.account_id == _ACCOUNTS.c.id)
    columns: list[Any] = list(_ACCOUNTS.c)
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
    return select(*columns).select_from(joined).where(_LIVE_KEY)


@dataclass(frozen=True)
class Caller:
    """Who is calling, and what the first statement of the request loaded with it."""

    account: Account
    interview: Interview | None = None
    """The account's interview named in the path, when one was asked for and exists."""
    key_record: KeyRecord | None = None
    """The stored record of the request's `Idempotency-Key`, when one was asked for and
    exists."""


UNAUTHORIZED = "The API key is missing, unknown or revoked."


async def identify(
    session: AsyncSession,
    plain: str,
    *,
    interview_id: str | None = None,
    idempotency_key: str | None = None,
) -> Caller:
    """The account of a live key (or 401) with, in the same round trip, the account's
    interview `interview_id` and the record of `idempotency_key`, where asked for."""
    statement = _caller_statement(interview_id is not None, idempotency_key is not None)
    params = {
        "key_hash": hash_key(plain),
        "interview_id": interview_id,
        "idempotency_key": idempotency_key,
    }
    row = (await session.execute(statement, params)).first()
    if row is None:
        raise UnauthorizedError(UNAUTHORIZED)
    values = row._mapping
    account = attach(session, Account, {key: values[key] for key in _ACCOUNT_COLUMNS})
    interview = None
    if interview_id is not None and values["interview_id"] is not None:
        columns = {key: values[label] for label, key in _INTERVIEW_COLUMNS.items()}
        interview = attach(session, Interview, columns)
    record = None
    if idempotency_key is not None and values["idempotency_request_hash"] is not None:
        record = KeyRecord(**{key: values[label] for label, key in _RECORD_COLUMNS.items()})
    return Caller(account, interview, record)


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
