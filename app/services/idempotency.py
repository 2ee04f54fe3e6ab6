"""Idempotency keys: replay the first response to a repeated POST, refuse reuse."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import IdempotencyRecord
from app.errors import ConflictError, IdempotencyKeyReuseError

KEY_TTL = timedelta(hours=24)
"""Keys are kept at least this long; older records may be pruned or reused."""
STALE_CLAIM = timedelta(minutes=5)
"""A claim left unfinished this long belongs to a request that died with its process."""


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


async def begin(
    session: AsyncSession, scope: str, key: str, fingerprint: str, now: datetime
) -> StoredResponse | None:
    """Claim the key (None: go ahead) or return the stored response to replay.

    Raises 409 while the first request is still in flight and 422 when the key
    was used for a different request.
    """
    record = await session.get(IdempotencyRecord, (scope, key))
    if record is not None and (
        record.created_at < now - KEY_TTL
        or (record.status_code is None and record.created_at < now - STALE_CLAIM)
    ):
        await session.delete(record)
        await session.flush()
        record = None
    if record is None:
        session.add(
            IdempotencyRecord(scope=scope, key=key, request_hash=fingerprint, created_at=now)
        )
        try:
            await session.flush()
        except IntegrityError as exc:
            raise ConflictError("A request with this Idempotency-Key is in progress.") from exc
        return None
    if record.request_hash != fingerprint:
        raise IdempotencyKeyReuseError(
            "This Idempotency-Key was already used with a different request."
        )
    if record.status_code is None:
        raise ConflictError("A request with this Idempotency-Key is in progress.")
    return StoredResponse(
        record.status_code, dict(record.response_headers or {}), record.response_body or ""
    )


async def complete(session: AsyncSession, scope: str, key: str, response: StoredResponse) -> None:
    record = await session.get(IdempotencyRecord, (scope, key))
    if record is None:
        return
    record.status_code = response.status_code
    record.response_headers = response.headers
    record.response_body = response.body
    await session.flush()


async def abandon(session: AsyncSession, scope: str, key: str) -> None:
    """Forget a claim whose request failed, so the client may retry with the same key."""
    await session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope,
            IdempotencyRecord.key == key,
            IdempotencyRecord.status_code.is_(None),
        )
    )


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
