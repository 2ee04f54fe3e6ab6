"""Accounts (tenants) and their API keys. Keys are stored as SHA-256 hashes only."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Account, ApiKey, Interview
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


_KEY_HASH = bindparam("key_hash", type_=String())
_INTERVIEW_ID = bindparam("interview_id", type_=String())
_ACCOUNT_OF_KEY = (
    select(Account)
    .join(ApiKey, ApiKey.account_id == Account.id)
    .where(ApiKey.key_hash == _KEY_HASH, ApiKey.revoked_at.is_(None))
)
_ACCOUNT_AND_INTERVIEW = (
    select(Account, Interview)
    .join(ApiKey, ApiKey.account_id == Account.id)
    .outerjoin(Interview, and_(Interview.id == _INTERVIEW_ID, Interview.account_id == Account.id))
    .where(ApiKey.key_hash == _KEY_HASH, ApiKey.revoked_at.is_(None))
)
"""Built once (with bind parameters): a request pays no statement building."""

UNAUTHORIZED = "The API key is missing, unknown or revoked."


async def authenticate(session: AsyncSession, plain: str) -> Account:
    """The account of a live key, or 401."""
    result = await session.scalars(_ACCOUNT_OF_KEY, {"key_hash": hash_key(plain)})
    account = result.first()
    if account is None:
        raise UnauthorizedError(UNAUTHORIZED)
    return account


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
    return row[0], row[1]


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
