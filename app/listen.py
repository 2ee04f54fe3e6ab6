"""`followup listen`: forward the account's event stream to a local URL, for development.

It reads `GET /v1/events/stream`, re-sends each event to `--forward-to` signed per
Standard Webhooks with a secret of its own (printed at start, so the local handler can
verify exactly as in production), prints one line per event with the local answer, and
reconnects with `Last-Event-ID` after a dropped connection, missing nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TextIO

import httpx

from app.clock import format_utc, utcnow
from app.enums import EventType
from app.webhooks.signing import generate_secret, secret_key, webhook_headers

RECONNECT_MIN = 1.0
RECONNECT_MAX = 30.0
READ_TIMEOUT = 45.0
"""The stream sends a heartbeat at least every 15 s; silence this long means it is dead."""
FORWARD_TIMEOUT = 10.0


@dataclass
class SSEMessage:
    id: str | None = None
    event: str | None = None
    data_lines: list[str] = field(default_factory=list)

    @property
    def data(self) -> str:
        return "\n".join(self.data_lines)


async def sse_messages(lines: AsyncIterator[str]) -> AsyncIterator[SSEMessage]:
    """Server-Sent Events messages from a stream's lines (comments and retry skipped)."""
    current = SSEMessage()
    async for line in lines:
        if not line:
            if current.data_lines:
                yield current
            current = SSEMessage()
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            current.id = value
        elif name == "event":
            current.event = value
        elif name == "data":
            current.data_lines.append(value)


class StreamRefused(Exception):
    """The API refused the stream for good (a bad key, a bad filter)."""


class Listener:
    def __init__(
        self,
        api_url: str,
        api_key: str,
        forward_to: str,
        *,
        events: list[EventType] | None = None,
        secret: str | None = None,
        out: TextIO | None = None,
        api_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.api_key = api_key
        self.forward_to = forward_to
        self.events = events or []
        self.secret = secret or generate_secret()
        self.out = out or sys.stdout
        self.api_transport = api_transport
        self.last_event_id: str | None = None
        self.forwarded = 0
        self.connected = asyncio.Event()
        """Set once the stream is open: events committed from then on are forwarded."""

    def _say(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    async def run(self, max_events: int | None = None) -> None:
        """Forward until cancelled (or after `max_events`, for tests)."""
        self._say(f"Ready. Forwarding events to {self.forward_to}")
        self._say(f"Webhook signing secret: {self.secret}")
        delay = RECONNECT_MIN
        timeout = httpx.Timeout(FORWARD_TIMEOUT, read=READ_TIMEOUT)
        async with (
            httpx.AsyncClient(
                transport=self.api_transport, timeout=timeout, trust_env=False
            ) as api,
            httpx.AsyncClient(timeout=FORWARD_TIMEOUT, trust_env=False) as local,
        ):
            while max_events is None or self.forwarded < max_events:
                try:
                    await self._follow(api, local, max_events)
                    delay = RECONNECT_MIN
                except StreamRefused:
                    raise
                except (httpx.HTTPError, RetryLater) as exc:
                    wait = exc.seconds if isinstance(exc, RetryLater) else delay
                    self._say(f"Stream interrupted ({describe(exc)}); reconnecting in {wait:g} s")
                    await asyncio.sleep(wait)
                    delay = min(RECONNECT_MAX, delay * 2)

    async def _follow(
        self, api: httpx.AsyncClient, local: httpx.AsyncClient, max_events: int | None
    ) -> None:
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "text/event-stream"}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        params = httpx.QueryParams([("type", event.value) for event in self.events])
        url = f"{self.api_url}/v1/events/stream"
        async with api.stream("GET", url, headers=headers, params=params) as response:
            if response.status_code == 429 or response.status_code >= 500:
                raise RetryLater(response)
            if response.status_code != 200:
                await response.aread()
                raise StreamRefused(f"the API answered {response.status_code}: {response.text}")
            self.connected.set()
            async for message in sse_messages(response.aiter_lines()):
                if message.id is None:
                    continue
                await self._forward(local, message)
                self.last_event_id = message.id
                self.forwarded += 1
                if max_events is not None and self.forwarded >= max_events:
                    return
        raise httpx.RemoteProtocolError("the stream ended")

    async def _forward(self, local: httpx.AsyncClient, message: SSEMessage) -> None:
        assert message.id is not None
        body = message.data.encode()
        now = utcnow()
        headers = webhook_headers(message.id, int(now.timestamp()), body, (self.secret,))
        try:
            response = await local.post(self.forward_to, content=body, headers=headers)
            answer = f"[{response.status_code}]"
        except httpx.HTTPError as exc:
            answer = f"[failed: {describe(exc)}]"
        self._say(f"{format_utc(now)}  --> {message.event}  {message.id}  {answer}")


class RetryLater(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"the API answered {response.status_code}")
        retry_after = response.headers.get("retry-after", "")
        self.seconds = float(retry_after) if retry_after.isdigit() else RECONNECT_MIN * 5


def describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "listen",
        help="forward the account's events to a local URL, signed with a local secret",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument(
        "--forward-to", required=True, help="the local URL, e.g. http://localhost:3000/hooks"
    )
    parser.add_argument(
        "--events", default="", help="comma-separated event types to forward (default: all)"
    )
    parser.add_argument(
        "--api-url",
        default=os.environ.get("FOLLOWUP_API_URL", "http://127.0.0.1:8000"),
        help="the followup API (default: FOLLOWUP_API_URL or http://127.0.0.1:8000)",
    )
    parser.add_argument(
        "--api-key",
        default=os.environ.get("FOLLOWUP_API_KEY"),
        help="an API key of the account (default: FOLLOWUP_API_KEY)",
    )
    parser.add_argument(
        "--secret", default=None, help="sign with this whsec_ secret instead of a new one"
    )


def parse_events(value: str) -> list[EventType]:
    try:
        return [EventType(item.strip()) for item in value.split(",") if item.strip()]
    except ValueError as exc:
        known = ", ".join(event.value for event in EventType)
        raise SystemExit(f"--events: {exc}; known types: {known}") from exc


def run(args: argparse.Namespace) -> None:
    if not args.api_key:
        raise SystemExit("an API key is needed: --api-key or FOLLOWUP_API_KEY")
    if args.secret is not None:
        try:
            secret_key(args.secret)
        except ValueError as exc:
            raise SystemExit(f"--secret: {exc}") from exc
    listener = Listener(
        args.api_url,
        args.api_key,
        args.forward_to,
        events=parse_events(args.events),
        secret=args.secret,
    )
    try:
        asyncio.run(listener.run())
    except StreamRefused as exc:
        raise SystemExit(f"listen: {exc}") from exc
    except KeyboardInterrupt:
        return
