"""ASGI middleware: request ids and logs, request-size limit, idempotent POSTs and
Prometheus metrics."""

from __future__ import annotations

import logging
import time
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import app_error_response, problem_response
from app.errors import PayloadTooLargeError
from app.logs import REQUEST_ID_HEADER, clean_request_id, request_context

logger = logging.getLogger("app.requests")

MAX_BODY_BYTES = 1024 * 1024

REQUESTS = Counter(
    "followup_http_requests_total", "HTTP requests handled", ["method", "route", "status"]
)
LATENCY = Histogram(
    "followup_http_request_duration_seconds", "HTTP request latency", ["method", "route"]
)


def replay_receive(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None when it exceeds `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


class NulRefusalMiddleware:
    """Refuse NUL characters in the path or query (422): no database stores them in text."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope["path"] or b"%00" in scope.get("query_string", b"")
        ):
            response = problem_response(
                422,
                "validation-error",
                "Validation error",
                "The path or query contains a NUL character.",
                {"errors": [{"loc": ["path"], "msg": "NUL characters are not allowed"}]},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Refuse bodies over 1 MiB with 413 before any handler sees them."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        too_large = length is not None and length.isdigit() and int(length) > self.limit
        body = None if too_large else await read_body(receive, self.limit)
        if body is None:
            response = app_error_response(
                PayloadTooLargeError(f"Request bodies are limited to {self.limit} bytes.")
            )
            await response(scope, receive, send)
            return
        await self.app(scope, replay_receive(body), send)


def _route_label(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Probes and scrapes are logged at DEBUG only."""


class RequestContextMiddleware:
    """The outermost layer: an `X-Request-ID` (the caller's, cleaned, or a new one) on the
    response and on every log line of the request, one log line per request, and the
    request metrics (count and latency by route template: bounded cardinality)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = clean_request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        status = 500
        started = time.perf_counter()

        async def tag(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != REQUEST_ID_HEADER.encode()
                ]
                headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with request_context(request_id):
            try:
                await self.app(scope, receive, tag)
            finally:
                path = scope["path"]
                elapsed = time.perf_counter() - started
                route = _route_label(scope)
                REQUESTS.labels(scope["method"], route, str(status)).inc()
                LATENCY.labels(scope["method"], route).observe(elapsed)
                logger.log(
                    logging.DEBUG if path in QUIET_PATHS else logging.INFO,
                    "%s %s %d",
                    scope["method"],
                    path,
                    status,
                    extra={
                        "method": scope["method"],
                        "path": path,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 1),
                    },
                )
