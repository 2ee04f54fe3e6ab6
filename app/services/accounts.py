"""Accounts (tenants) and their API keys. Keys are stored as SHA-256 hashes only."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import String, Table, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Account, ApiKey, Interview
from app.db.session import attach
from app.errors import NotFoundError, UnauthorizedError
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
_KEY_HASH = bindparam("key_hash", type_=String())
_INTERVIEW_ID = bindparam("interview_id", type_=String())
_LIVE_KEY = and_(_KEYS.c.key_hash == _KEY_HASH, _KEYS.c.revoked_at.is_(None))
_ACCOUNT_OF_KEY = (
    select(*_ACCOUNTS.c)
    .select_from(_ACCOUNTS.join(_KEYS, _KEYS.c.account_id == _ACCOUNTS.c.id))
    .where(_LIVE_KEY)
)
_INTERVIEW_COLUMNS = {f"interview_{column.key}": column.key for column in _INTERVIEWS.c}
_ACCOUNT_AND_INTERVIEW = (
    select(
        *_ACCOUNTS.c,
        *(_INTERVIEWS.c[key].label(label) for label, key in _INTERVIEW_COLUMNS.items()),
    )
    .select_from(
        _ACCOUNTS.join(_KEYS, _KEYS.c.account_id == _ACCOUNTS.c.id).outerjoin(
            _INTERVIEWS,
            and_(_INTERVIEWS.c.id == _INTERVIEW_ID, _INTERVIEWS.c.account_id == _ACCOUNTS.c.id),
        )
    )
    .where(_LIVE_KEY)
)
"""Built once, Core (`app.db.session.attach` makes ORM objects of the rows): a request
pays no statement building and no ORM loading."""
_ACCOUNT_COLUMNS = tuple(column.key for column in _ACCOUNTS.c)

UNAUTHORIZED = "The API key is missing, unknown or revoked."


async def authenticate(session: AsyncSession, plain: str) -> Account:
    """The account of a live key, or 401."""
    row = (await session.execute(_ACCOUNT_OF_KEY, {"key_hash": hash_key(plain)})).first()
    if row is None:
        raise UnauthorizedError(UNAUTHORIZED)
    return attach(session, Account, dict(row._mapping))


async def authenticate_in_interview(
    session: AsyncSession, plain: str, interview_id: str
) -> tuple[Account, Interview | None]:
    """`authenticate`, and the account's interview `interview_id` (None when the account
    has no such interview) in the same round trip: what every `/v1/interviews/{id}/…`
    request needs first."""
    params = {"key_hash": hash_key(plain), "interview_id": interview_id}
    row = (await session.execute(_ACCOUNT_AND_INTERVIEW, params)).first()
    if row is None:
        raise UnauthorizedError(UNAUTHORIZED)
    values = row._mapping
    account = attach(session, Account, {key: values[key] for key in _ACCOUNT_COLUMNS})
    if values["interview_id"] is None:
        return account, None
    interview = {key: values[label] for label, key in _INTERVIEW_COLUMNS.items()}
    return account, attach(session, Interview, interview)


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
