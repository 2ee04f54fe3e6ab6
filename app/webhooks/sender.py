"""One webhook attempt over HTTP: signed, re-checked by the SSRF guard, pinned, bounded.

No database work happens here: the lease protocol (`app.services.leases`) decides what
to send and stores what came back.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

import httpx

from app.webhooks.retry import parse_retry_after
from app.webhooks.signing import webhook_headers
from app.webhooks.ssrf import (
    Resolver,
    UnsafeURLError,
    build_pinned_request,
    resolve_and_check,
    send_pinned,
)

RESPONSE_BODY_LIMIT = 1024
"""Bytes of each response kept in the attempt log."""

USER_AGENT = "followup-webhooks/0.1"

MAX_ATTEMPT_SECONDS = 50.0
"""An attempt must end inside its lease, so longer configured timeouts are cut to this."""


def attempt_timeout(configured: float) -> float:
    """Seconds one attempt may take: DNS, connect, send, response and its first 1 KiB."""
    return min(configured, MAX_ATTEMPT_SECONDS)


@dataclass(frozen=True)
class Message:
    """What one attempt sends: the same bytes and id on every retry."""

    url: str
    event_id: str
    body: bytes
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class AttemptResult:
    attempted_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    """Why the attempt failed when the status code alone does not say (or there is none)."""
    response_body: str | None
    retry_after: float | None
    """Seconds a 429/503 `Retry-After` asked for."""

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        """410: the subscriber asks never to be called again."""
        return self.error is None and self.status_code == 410


async def _read_prefix(response: httpx.Response, limit: int) -> str:
    """The first `limit` bytes of the body; the rest is never downloaded."""
    received = bytearray()
    async for chunk in response.aiter_raw():
        received += chunk
        if len(received) >= limit:
            break
    return bytes(received[:limit]).decode("utf-8", errors="replace")


async def send_one(
    client: httpx.AsyncClient,
    message: Message,
    now: datetime,
    *,
    timeout: float,
    allow_private: bool,
    resolver: Resolver | None = None,
) -> AttemptResult:
    """One signed POST at `now`, re-checked by the SSRF guard and pinned to the checked
    address.

    Never raises for the receiver's or the network's faults: they become the result's
    `error`. The whole attempt (DNS, connect, response, first 1 KiB) shares one timeout.
    """
    started = time.perf_counter()
    status_code: int | None = None
    error: str | None = None
    body: str | None = None
    retry_after: float | None = None
    try:
        async with asyncio.timeout(timeout):
            target = await resolve_and_check(
                message.url, allow_private=allow_private, resolver=resolver
            )
            headers = webhook_headers(
                message.event_id, int(now.timestamp()), message.body, message.secrets
            )
            headers["user-agent"] = USER_AGENT
            # Raw bytes are logged: no compression, so a small reply cannot inflate.
            headers["accept-encoding"] = "identity"
            requests = [
                build_pinned_request(
                    client,
                    "POST",
                    message.url,
                    target=target,
                    headers=headers,
                    content=message.body,
                    address=address,
                )
                for address in target.addresses
            ]
            response = await send_pinned(client, requests)
            try:
                status_code = response.status_code
                if response.is_redirect:
                    error = "redirect not followed"
                if status_code in (429, 503):
                    retry_after = parse_retry_after(response.headers.get("retry-after"), now)
                body = await _read_prefix(response, RESPONSE_BODY_LIMIT)
            finally:
                await response.aclose()
    except TimeoutError:
        error = f"timed out after {timeout:g} s"
    except UnsafeURLError as exc:
        error = f"refused by the SSRF guard: {exc}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return AttemptResult(
        attempted_at=now,
        duration_ms=round((time.perf_counter() - started) * 1000),
        status_code=status_code,
        error=error[:1000] if error else None,
        response_body=body,
        retry_after=retry_after,
    )
