"""Per-key rate limits (`FOLLOWUP_RATE_LIMIT`), as pure ASGI middleware.

Every request to `/v1/...` or `/admin/...` that carries a bearer token counts against
that token's fixed window; requests with no token and the ops routes are never
limited. The counter key is a SHA-256 digest of the token, never the token. Counters
live in process memory (`MemoryWindows`), or in Redis (`limits`' Redis storage) when
`FOLLOWUP_REDIS_URL` is set so that every process shares them. The hot path touches no
database: one counter increment and one expiry read.

Responses carry the IETF rate-limit fields (draft-ietf-httpapi-ratelimit-headers,
structured-field form), for example::

    RateLimit-Policy: "default";q=100;w=1
    RateLimit: "default";r=42;t=1

Over the limit the answer is 429 `rate-limited` with `Retry-After`. When Redis cannot
be reached, requests pass unlimited (fail open) and a warning is logged at most once
per back-off period: the limits protect the service, they do not guard data.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage, Storage
from limits.errors import StorageError
from prometheus_client import Counter
from redis.asyncio import ConnectionPool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import problem_response
from app.settings import Settings

logger = logging.getLogger(__name__)

POLICY_NAME = "default"
LIMITED_PREFIXES = ("/v1/", "/admin/")
"""Only the API and admin routes are limited; /healthz, /readyz, /metrics, /docs and
/openapi.json never are."""

STORAGE_BACKOFF_SECONDS = 5.0
"""After a Redis error, requests pass unlimited this long before Redis is tried again."""

REDIS_TIMEOUT_SECONDS = 0.5
"""Connect and read timeout for Redis: a slow Redis must not stall every request."""

RATE_LIMITED = Counter(
    "followup_rate_limited_total", "Requests refused with 429 by the per-key rate limit"
)


def bearer_digest(scope: Scope) -> str | None:
    """The SHA-256 hex digest of the request's bearer token, or None without one."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            token = token.strip()
            if scheme.lower() == b"bearer" and token:
                return hashlib.sha256(token).hexdigest()
            return None
    return None


class MemoryWindows(Storage):
    """In-process fixed-window counters behind the `limits` storage interface.

    `limits`' own asyncio memory storage starts a task on every hit that walks every
    live key, so its cost per request grows with the number of distinct tokens seen
    in a window (about 0.6 ms at 1,500 keys, 3 ms at 14,000), a cost any client can
    inflate by sending random tokens. Here a hit is two dictionary operations, and
    ended windows are dropped at most once per second. The table is bounded: past
    `max_keys` live windows it is emptied (every count restarts), with a warning.
    """

    STORAGE_SCHEME = None

    def __init__(
        self,
        max_keys: int = 200_000,
        sweep_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(None)
        self.clock = clock
        self.max_keys = max_keys
        self.sweep_interval = sweep_interval
        self._windows: dict[str, list[float]] = {}
        """key -> [count, end of its window (unix time)]"""
        self._next_sweep = 0.0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    def _sweep(self, now: float) -> None:
        self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
        if len(self._windows) >= self.max_keys:
            logger.warning("rate-limit table full (%d keys); counts restart", len(self._windows))
            self._windows = {}
        self._next_sweep = now + self.sweep_interval

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self.clock()
        if now >= self._next_sweep or len(self._windows) >= self.max_keys:
            self._sweep(now)
        window = self._windows.get(key)
        if window is None or window[1] <= now:
            window = self._windows[key] = [0, now + expiry]
        window[0] += amount
        return int(window[0])

    async def get(self, key: str) -> int:
        window = self._windows.get(key)
        return int(window[0]) if window is not None and window[1] > self.clock() else 0

    async def get_expiry(self, key: str) -> float:
        window = self._windows.get(key)
        return window[1] if window is not None else self.clock()

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        count = len(self._windows)
        self._windows = {}
        return count

    async def clear(self, key: str) -> None:
        self._windows.pop(key, None)


@dataclass(frozen=True, slots=True)
class Usage:
    """One hit's outcome: the count in the current window and when the window ends."""

    count: int
    reset_at: float


class KeyedRateLimiter:
    """A fixed window per key, counted in `limits` storage (memory or Redis)."""

    def __init__(self, rate: RateLimitItem, storage: Storage, pool: ConnectionPool | None) -> None:
        self.rate = rate
        self.storage = storage
        self._pool = pool
        self._paused_until = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyedRateLimiter:
        rate = parse(settings.rate_limit)
        if settings.redis_url is None:
            return cls(rate, MemoryWindows(), None)
        url = settings.redis_url.get_secret_value()
        if not url.startswith(("redis://", "rediss://")):
            raise ValueError("FOLLOWUP_REDIS_URL must start with redis:// or rediss://")
        pool = ConnectionPool.from_url(
            url,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
        )
        client_options: dict[str, Any] = {"connection_pool": pool}
        storage = RedisStorage(
            "async+redis://",
            wrap_exceptions=True,
            implementation="redispy",
            key_prefix=settings.redis_prefix,
            **client_options,
        )
        return cls(rate, storage, pool)

    @property
    def policy_header(self) -> bytes:
        return f'"{POLICY_NAME}";q={self.rate.amount};w={self.rate.get_expiry()}'.encode()

    async def hit(self, digest: str) -> Usage | None:
        """Count one request for `digest`; None when the storage cannot be reached."""
        now = time.monotonic()
        if now < self._paused_until:
            return None
        key = self.rate.key_for("ratelimit", digest)
        try:
            count = await self.storage.incr(key, self.rate.get_expiry())
            reset_at = await self.storage.get_expiry(key)
        except StorageError as exc:
            self._paused_until = now + STORAGE_BACKOFF_SECONDS
            logger.warning(
                "rate-limit storage unavailable (%s); requests pass unlimited for %.0f s",
                type(exc.storage_error).__name__,
                STORAGE_BACKOFF_SECONDS,
            )
            return None
        return Usage(count, reset_at)

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.disconnect()


def _rate_headers(limiter: KeyedRateLimiter, usage: Usage) -> list[tuple[bytes, bytes]]:
    remaining = max(0, limiter.rate.amount - usage.count)
    reset_in = max(0, math.ceil(usage.reset_at - time.time()))
    return [
        (b"ratelimit-policy", limiter.policy_header),
        (b"ratelimit", f'"{POLICY_NAME}";r={remaining};t={reset_in}'.encode()),
    ]


class RateLimitMiddleware:
    """Count each keyed API request; add the rate-limit fields; refuse with 429 past the
    limit. Its storage is closed when the ASGI lifespan ends."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limiter = KeyedRateLimiter.from_settings(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            try:
                await self.app(scope, receive, send)
            finally:
                await self.limiter.aclose()
            return
        if scope["type"] != "http" or not scope["path"].startswith(LIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return
        digest = bearer_digest(scope)
        usage = await self.limiter.hit(digest) if digest is not None else None
        if usage is None:
            await self.app(scope, receive, send)
            return
        headers = _rate_headers(self.limiter, usage)
        if usage.count > self.limiter.rate.amount:
            RATE_LIMITED.inc()
            retry_after = max(1, math.ceil(usage.reset_at - time.time()))
            response = problem_response(
                429,
                "rate-limited",
                "Too many requests",
                f"This key is limited to {self.limiter.rate.amount} requests per "
                f"{self.limiter.rate.get_expiry()} s; retry after {retry_after} s.",
                headers={"Retry-After": str(retry_after)},
            )
            response.raw_headers.extend(headers)
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message_headers: list[Any] = list(message.get("headers", []))
                message_headers.extend(headers)
                message["headers"] = message_headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


_RATE_LIMITED_RESPONSE: dict[str, Any] = {
    "description": (
        "Too many requests for this key (`rate-limited`). Every response to a request "
        "with a bearer token carries `RateLimit-Policy` and `RateLimit`."
    ),
    "headers": {
        "Retry-After": {
            "description": "Seconds until the key's window resets.",
            "schema": {"type": "integer", "minimum": 1},
        },
        "RateLimit-Policy": {
            "description": "The key's quota `q` per window of `w` seconds.",
            "schema": {"type": "string", "example": '"default";q=50;w=1'},
        },
        "RateLimit": {
            "description": "Requests remaining `r` and seconds `t` until the window resets.",
            "schema": {"type": "string", "example": '"default";r=0;t=1'},
        },
    },
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def document_rate_limits(app: FastAPI) -> None:
    """Add the 429 answer, with its fields, to every limited operation in the OpenAPI
    document (the same for any `FOLLOWUP_RATE_LIMIT`)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for path, item in schema.get("paths", {}).items():
                if path.startswith(LIMITED_PREFIXES):
                    for operation in item.values():
                        responses = operation.setdefault("responses", {})
                        documented = responses.setdefault(
                            "429", copy.deepcopy(_RATE_LIMITED_RESPONSE)
                        )
                        headers = documented.setdefault("headers", {})
                        headers.update(copy.deepcopy(_RATE_LIMITED_RESPONSE["headers"]))
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]
