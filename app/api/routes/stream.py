"""`GET /v1/events/stream`: the account's events as Server-Sent Events (contract §8).

Each message is `id:` the event id, `event:` its type and `data:` its envelope, the
very bytes a webhook delivery sends. The reader's position advances in (created_at, id)
order, so `Last-Event-ID` resumes with no gap and no repeat. New events are found by
polling with a short session each time, woken early by PostgreSQL NOTIFY; a comment
line keeps idle connections alive.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import Receive, Scope, Send

from app.api.deps import AccountDep, SessionDep, SettingsDep
from app.api.openapi import ApiRoute
from app.api.problems import problem_response
from app.clock import utcnow
from app.db.models import Event
from app.db.notify import Wakeups
from app.enums import EventType
from app.schemas.events import encode_envelope
from app.schemas.problem import problem_responses
from app.services import stream as service
from app.services.accounts import hash_key
from app.settings import Settings

router = APIRouter(prefix="/v1/events", tags=["events"], route_class=ApiRoute)

EventId = Annotated[str, Query(min_length=1, max_length=64)]

RETRY_MS = 2000
"""The reconnection delay the stream suggests to `EventSource` clients."""

STREAM_RESPONSE = {
    200: {
        "description": "`text/event-stream`: one message per event (`id`, `event`, `data`: "
        "the envelope), and `:` comment lines as a heartbeat.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    **problem_responses(429),
}


class StreamSlots:
    """Open streams per API key, in this process."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()

    def take(self, key: str, limit: int) -> bool:
        if self._open[key] >= limit:
            return False
        self._open[key] += 1
        return True

    def give_back(self, key: str) -> None:
        self._open[key] -= 1
        if self._open[key] <= 0:
            del self._open[key]


class EventStreamResponse(StreamingResponse):
    """Runs `on_close` however the response ends, even if the stream never started."""

    def __init__(self, content: AsyncIterator[bytes], on_close: Callable[[], None]) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._on_close()


def message(event: Event) -> bytes:
    body = encode_envelope(event.id, event.type, event.created_at, event.data)
    return f"id: {event.id}\nevent: {event.type}\ndata: ".encode() + body + b"\n\n"


async def _messages(
    sessionmaker: async_sessionmaker[AsyncSession],
    wakeups: Wakeups,
    settings: Settings,
    account_id: str,
    after: service.Position,
    types: Sequence[EventType],
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    settle = timedelta(seconds=settings.stream_settle_seconds)
    heartbeat = settings.stream_heartbeat_seconds
    wakeups.acquire()
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n".encode()
        quiet_since = loop.time()
        while True:
            async with sessionmaker() as session:
                batch = await service.events_after(
                    session, account_id, after, types, until=utcnow() - settle
                )
            for event in batch:
                yield message(event)
                after = service.Position(event.created_at, event.id)
            if batch:
                quiet_since = loop.time()
                if len(batch) == service.BATCH:
                    continue
            wait = min(settings.stream_poll_interval, quiet_since + heartbeat - loop.time())
            if await wakeups.wait(wait) and settle:
                # A commit just happened: its events are readable once settled.
                await asyncio.sleep(settle.total_seconds())
            if loop.time() - quiet_since >= heartbeat:
                yield b": heartbeat\n\n"
                quiet_since = loop.time()
    finally:
        await wakeups.release()


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses=STREAM_RESPONSE,
    name="stream_events",
    summary="Stream the account's events (Server-Sent Events)",
)
async def stream_events(
    request: Request,
    session: SessionDep,
    account: AccountDep,
    settings: SettingsDep,
    type: Annotated[
        list[EventType] | None,
        Query(description="Only these event types (repeat the parameter for several)."),
    ] = None,
    last_event_id: Annotated[
        str | None,
        Query(min_length=1, max_length=64, description="Resume after this event."),
    ] = None,
    last_event_id_header: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            min_length=1,
            max_length=64,
            description="Resume after this event (sent by `EventSource` on reconnection).",
        ),
    ] = None,
) -> Response:
    """The account's events as they commit, as Server-Sent Events; at most
    `FOLLOWUP_STREAMS_PER_KEY` open at once per API key (then 429)."""
    if last_event_id_header is not None:
        after = await service.position_after(
            session, account.id, last_event_id_header, ["header", "Last-Event-ID"]
        )
    elif last_event_id is not None:
        after = await service.position_after(
            session, account.id, last_event_id, ["query", "last_event_id"]
        )
    else:
        after = service.Position(utcnow(), "")
    _, _, token = request.headers.get("authorization", "").partition(" ")
    key = hash_key(token.strip())
    slots: StreamSlots = request.app.state.stream_slots
    limit = settings.streams_per_key
    if not slots.take(key, limit):
        return problem_response(
            429,
            "rate-limited",
            "Too many open streams",
            f"This API key already has {limit} open event streams; close one first.",
            headers={"Retry-After": "5"},
        )
    return EventStreamResponse(
        _messages(
            request.app.state.sessionmaker,
            request.app.state.stream_wakeups,
            settings,
            account.id,
            after,
            type or [],
        ),
        on_close=lambda: slots.give_back(key),
    )
