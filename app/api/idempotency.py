"""`Idempotency-Key` on POST, as one atomic phase with the request's own transaction.

1. Keys are scoped by who is calling (the account, or the admin token's identity). A
   caller who is not authenticated gets no replay and leaves nothing stored.
2. The middleware opens the request's session and transaction and hands them to the
   route (`get_session` uses them). An account's key is read in the same statement that
   authenticates the account (`get_account`, which raises `Replay` when the key holds a
   response, or 422 when it was used for another request); the operator's is read here.
3. Otherwise the route runs, and its response is stored in the same transaction as
   the change it made; the transaction commits before a byte of the response is sent.
   On PostgreSQL a route whose change is one statement (`writes_once`) has no
   transaction: its change waits in the session and goes out with the key's record, as
   one statement (`app.db.sql.DEFERRED`).
   A response whose changes roll back (an error) is stored on its own afterwards:
   there is no change to repeat, and the retry gets the same answer.

A concurrent duplicate waits on the database (SQLite's single writer, or PostgreSQL's
unique index on the key) until the first commits, then replays its response: once
the first response has been sent, every replay returns it, and no key runs a change
twice, even if the process dies between the commit and the response.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction, async_sessionmaker
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.deps import (
    IDEMPOTENCY_STATE,
    OUTCOME,
    SESSION_STATE,
    KeyClaim,
    Replay,
    committed,
    get_now,
)
from app.api.middleware import MAX_BODY_BYTES, read_body, replay_receive
from app.api.problems import app_error_response, problem_response, unavailable_response
from app.db.faults import database_unavailable
from app.db.session import NOW
from app.db.sql import DEFERRED, send_deferred
from app.errors import AppError, ConflictError
from app.services import idempotency
from app.settings import Settings

MAX_IDEMPOTENCY_KEY = 255

SECRET_FIELDS = ("api_key", "secret")
"""Response members that hold a secret: stored as null, and replayed with
`Secret-Omitted: true` (the plain secret is shown once, in the first response)."""

KEPT_HEADERS = ("content-type", "location", "retry-after")


def _without_secrets(
    status: int, headers: dict[str, str], body: bytes
) -> idempotency.StoredResponse:
    """What may be kept of a response: its secrets replaced by null."""
    text = body.decode("utf-8", "replace")
    named = any(f'"{field}"' in text for field in SECRET_FIELDS)
    if named and headers.get("content-type", "").startswith("application/json"):
        try:
            document: Any = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, dict) and any(document.get(f) for f in SECRET_FIELDS):
            for field in SECRET_FIELDS:
                if field in document:
                    document[field] = None
            headers = {**headers, "secret-omitted": "true"}
            text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return idempotency.StoredResponse(status, headers, text)


class _Captured:
    """A response held back until its transaction has committed."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def kept_headers(self) -> dict[str, str]:
        kept: dict[str, str] = {}
        for raw_name, raw_value in self.headers:
            name = raw_name.decode().lower()
            if name in KEPT_HEADERS:
                kept[name] = raw_value.decode()
        return kept

    async def send_to(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


async def _replay(stored: idempotency.StoredResponse, send: Send) -> None:
    headers = [(k.encode(), v.encode()) for k, v in stored.headers.items()]
    headers.append((b"idempotent-replayed", b"true"))
    body = stored.body.encode()
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": stored.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _admin_scope(settings: Settings, token: str) -> str | None:
    """The admin token's identity, when `token` is the configured one."""
    expected = settings.admin_token.get_secret_value() if settings.admin_token else ""
    if not expected or not hmac.compare_digest(expected.encode(), token.encode()):
        return None
    return "admin:" + hashlib.sha256(expected.encode()).hexdigest()[:16]


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        if key is None:
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY:
            response = problem_response(
                422,
                "validation-error",
                "Validation error",
                "Idempotency-Key must be 1 to 255 characters.",
                {"errors": [{"loc": ["header", "Idempotency-Key"], "msg": "1 to 255 characters"}]},
            )
            await response(scope, receive, send)
            return
        body = await read_body(receive, MAX_BODY_BYTES) or b""
        fingerprint = idempotency.request_fingerprint(
            scope["method"], scope["path"], scope.get("query_string", b""), body
        )
        app = scope["app"]
        factory: async_sessionmaker[AsyncSession] = app.state.sessionmaker
        clock = app.dependency_overrides.get(get_now, get_now)()
        now = await clock if inspect.isawaitable(clock) else clock
        scheme, _, token = (headers.get("authorization") or "").partition(" ")
        token = token.strip() if scheme.lower() == "bearer" else ""
        owner: str | None = None
        async with factory() as session:
            session.info[NOW] = now
            transaction = await session.begin()
            try:
                claim: KeyClaim | None = None
                if scope["path"].startswith("/admin/"):
                    owner = _admin_scope(app.state.settings, token) if token else None
                    if owner is None:
                        await transaction.rollback()
                        await self.app(scope, replay_receive(body), send)
                        return
                    stored = await idempotency.lookup(session, owner, key, fingerprint, now)
                    if stored is not None:
                        await transaction.rollback()
                        await _replay(stored, send)
                        return
                else:
                    # An account's key is looked up with the account (`get_account`).
                    claim = KeyClaim(key, fingerprint, now)
                    scope.setdefault("state", {})[IDEMPOTENCY_STATE] = claim
                try:
                    captured = await self._run(scope, body, session)
                except Replay as replay:
                    await transaction.rollback()
                    await _replay(replay.stored, send)
                    return
                if claim is not None:
                    owner = claim.owner
                if owner is None:
                    # Not an authenticated caller's request: nothing is kept for the key.
                    await self._finish(session, transaction, captured)
                    replay_instead = None
                else:
                    replay_instead = await self._store(
                        factory, session, transaction, captured, owner, key, fingerprint
                    )
                committed(app, session)
            except AppError as exc:
                if transaction.is_active:
                    await transaction.rollback()
                await app_error_response(exc)(scope, receive, send)
                return
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                await unavailable_response()(scope, receive, send)
                return
        if replay_instead is not None:
            await _replay(replay_instead, send)
        else:
            await captured.send_to(send)

    async def _run(self, scope: Scope, body: bytes, session: AsyncSession) -> _Captured:
        """Run the route on this session; its response is held, not sent."""
        scope.setdefault("state", {})[SESSION_STATE] = session
        captured = _Captured()
        await self.app(scope, replay_receive(body), captured)
        return captured

    @staticmethod
    async def _finish(
        session: AsyncSession, transaction: AsyncSessionTransaction, captured: _Captured
    ) -> None:
        """End the transaction as the route's outcome asks, keeping nothing for the key."""
        if session.info.get(OUTCOME) == "commit" and captured.status < 500:
            await send_deferred(session)
            await transaction.commit()
        else:
            session.info.pop(DEFERRED, None)
            await transaction.rollback()

    @staticmethod
    async def _store(
        factory: async_sessionmaker[AsyncSession],
        session: AsyncSession,
        transaction: AsyncSessionTransaction,
        captured: _Captured,
        owner: str,
        key: str,
        fingerprint: str,
    ) -> idempotency.StoredResponse | None:
        """Commit the change with its stored response; returns a response to replay
        instead when a concurrent duplicate committed first."""
        kept = _without_secrets(captured.status, captured.kept_headers(), captured.body)
        now = session.info[NOW]
        deferring = DEFERRED in session.info
        if session.info.get(OUTCOME) != "commit" or captured.status >= 500:
            session.info.pop(DEFERRED, None)  # the change is dropped, never sent
            await transaction.rollback()
            if captured.status >= 500:
                return None  # the key stays free: a retry runs the request again
            transaction = await session.begin()
        try:
            if deferring:
                # An autocommit session: the change and the key's record, one statement.
                record = idempotency.store_params(owner, key, fingerprint, kept, now)
                await send_deferred(session, (idempotency.STORE_WRITE,), record)
            else:
                await idempotency.store(session, owner, key, fingerprint, kept, now)
            await transaction.commit()
        except IntegrityError:
            await transaction.rollback()
            async with factory() as fresh:
                stored = await idempotency.lookup(fresh, owner, key, fingerprint, now)
            if stored is None:
                raise ConflictError(
                    "This Idempotency-Key is being used; retry the request."
                ) from None
            return stored
        return None
