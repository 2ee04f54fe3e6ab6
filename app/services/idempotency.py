"""Idempotency keys: the stored first response to a repeated POST (see `app.api.idempotency`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import String, Table, and_, bindparam, delete, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import IdempotencyRecord
from app.errors import IdempotencyKeyReuseError

KEY_TTL = timedelta(hours=24)
"""Keys are kept at least this long; older records may be pruned or reused."""


def request_fingerprint(method: str, path: str, query: bytes, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    headers: dict[str, str]
    body: str


@dataclass(frozen=True)
class KeyRecord:
    """What is kept of a key's first request (`idempotency_keys`, less its primary key)."""

    request_hash: str
    status_code: int
    response_headers: dict[str, str]
    response_body: str
    created_at: datetime


_KEYS = cast(Table, IdempotencyRecord.__table__)
_THIS_KEY = and_(
    _KEYS.c.scope == bindparam("scope", type_=String()),
    _KEYS.c.key == bindparam("key", type_=String()),
)
_SELECT = select(*(_KEYS.c[name] for name in KeyRecord.__dataclass_fields__)).where(_THIS_KEY)
_FORGET = delete(_KEYS).where(_THIS_KEY)
_STORE = insert(_KEYS)
STORE_WRITE = insert(_KEYS).values(
    {column.key: bindparam(f"idempotency_{column.key}", type_=column.type) for column in _KEYS.c}
)
"""`store` as a write to send with others (`app.db.sql.write_together`): its values come
as `idempotency_<column>` (`store_params`)."""


async def lookup(
    session: AsyncSession, scope: str, key: str, fingerprint: str, now: datetime
) -> StoredResponse | None:
    """The stored response to replay for this key, or None (the key is free)."""
    row = (await session.execute(_SELECT, {"scope": scope, "key": key})).first()
    record = None if row is None else KeyRecord(*row)
    return await replay_of(session, scope, key, record, fingerprint, now)


async def replay_of(
    session: AsyncSession,
    scope: str,
    key: str,
    record: KeyRecord | None,
    fingerprint: str,
    now: datetime,
) -> StoredResponse | None:
    """What a request with this key gets, given the key's `record` as just read (by
    `lookup`, or with the caller by `accounts.identify`): the response to replay, or None
    (the key is free).

    Raises 422 when the key was used for a different request. A record past its 24 h
    is forgotten here, so the key can be used again.
    """
    if record is None:
        return None
    if record.created_at < now - KEY_TTL:
        await session.execute(_FORGET, {"scope": scope, "key": key})
        return None
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReuseError(
            "This Idempotency-Key was already used with a different request."
        )
    return StoredResponse(record.status_code, dict(record.response_headers), record.response_body)


def _record(
    scope: str, key: str, fingerprint: str, response: StoredResponse, now: datetime
) -> dict[str, object]:
    return {
        "scope": scope,
        "key": key,
        "request_hash": fingerprint,
        "status_code": response.status_code,
        "response_headers": response.headers,
        "response_body": response.body,
        "created_at": now,
    }


async def store(
    session: AsyncSession,
    scope: str,
    key: str,
    fingerprint: str,
    response: StoredResponse,
    now: datetime,
) -> None:
    """Keep the response, in the caller's transaction (the one holding the change).

    A concurrent request that committed the same key first makes this insert fail with
    an integrity error; the caller then replays that request's response.
    """
    await session.execute(_STORE, _record(scope, key, fingerprint, response, now))


def store_params(
    scope: str, key: str, fingerprint: str, response: StoredResponse, now: datetime
) -> dict[str, object]:
    """The values of `STORE_WRITE`."""
    record = _record(scope, key, fingerprint, response, now)
    return {f"idempotency_{name}": value for name, value in record.items()}


async def prune(session: AsyncSession, now: datetime, batch: int = 500) -> int:
    """Forget up to `batch` keys past their 24 h; returns how many went."""
    keys = (
        await session.execute(
            select(IdempotencyRecord.scope, IdempotencyRecord.key)
            .where(IdempotencyRecord.created_at < now - KEY_TTL)
            .limit(batch)
        )
    ).all()
    if keys:
        await session.execute(
            delete(IdempotencyRecord).where(
                tuple_(IdempotencyRecord.scope, IdempotencyRecord.key).in_(
                    [(scope, key) for scope, key in keys]
                )
            )
        )
    return len(keys)
