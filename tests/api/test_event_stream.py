"""`GET /v1/events/stream` (contract §8 v2) through a real uvicorn server: messages,
resuming with no gap and no repeat, the type filter, heartbeats and the per-key limit."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from app.listen import SSEMessage, sse_messages
from app.settings import Settings
from tests.api.factories import create_interview
from tests.api.test_accounts import assert_problem
from tests.live_server import live_server

WAIT = 20.0
"""Seconds a test waits for a message before failing (a guard, not a measurement)."""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No settling delay and quick polls: the tests commit one request at a time."""
    return settings.model_copy(
        update={
            "stream_settle_seconds": 0.0,
            "stream_poll_interval": 0.05,
            "streams_per_key": 2,
        }
    )


@pytest.fixture
async def base_url(app: Any) -> AsyncIterator[str]:
    async with live_server(app) as url:
        yield url


class Stream:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._messages = sse_messages(response.aiter_lines())

    async def next(self) -> SSEMessage:
        async with asyncio.timeout(WAIT):
            return await anext(self._messages)

    async def take(self, count: int) -> list[SSEMessage]:
        return [await self.next() for _ in range(count)]


@asynccontextmanager
async def open_stream(
    base_url: str, api: httpx.AsyncClient, headers: dict[str, str] | None = None, **params: Any
) -> AsyncIterator[Stream]:
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=WAIT, trust_env=False) as http,
        http.stream(
            "GET",
            "/v1/events/stream",
            params=params,
            headers={"Authorization": api.headers["Authorization"], **(headers or {})},
        ) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Stream(response)


async def events_oldest_first(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await api.get("/v1/events", params={"limit": 200})
    return list(reversed(response.json()["data"]))


async def rename(api: httpx.AsyncClient, interview_id: str, company: str) -> None:
    response = await api.patch(f"/v1/interviews/{interview_id}", json={"company": company})
    assert response.status_code == 200, response.text


async def test_each_message_is_the_event_id_type_and_envelope(
    api: httpx.AsyncClient, base_url: str
) -> None:
    async with open_stream(base_url, api) as stream:
        interview = await create_interview(api)
        message = await stream.next()

    [event] = await events_oldest_first(api)
    assert message.id == event["id"]
    assert message.event == "interview.created"
    assert json.loads(message.data) == event
    stored = await api.get(f"/v1/events/{event['id']}")
    assert json.loads(message.data) == stored.json()
    assert json.loads(message.data)["data"]["interview"]["id"] == interview["id"]


async def test_resuming_after_last_event_id_has_no_gap_and_no_repeat(
    api: httpx.AsyncClient, base_url: str
) -> None:
    interview = await create_interview(api)
    for company in ("Contoso", "Fabrikam", "Tailspin"):
        await rename(api, interview["id"], company)
    ids = [event["id"] for event in await events_oldest_first(api)]
    assert len(ids) == 4

    async with open_stream(base_url, api, headers={"Last-Event-ID": ids[1]}) as stream:
        resumed = await stream.take(2)
        await rename(api, interview["id"], "Woodgrove")
        live = await stream.next()

    ids = [event["id"] for event in await events_oldest_first(api)]
    assert [m.id for m in [*resumed, live]] == ids[2:]


async def test_the_query_parameter_resumes_like_the_header(
    api: httpx.AsyncClient, base_url: str
) -> None:
    interview = await create_interview(api)
    await rename(api, interview["id"], "Contoso")
    first, second = await events_oldest_first(api)

    async with open_stream(base_url, api, last_event_id=first["id"]) as stream:
        message = await stream.next()

    assert message.id == second["id"]


async def test_a_stream_without_a_position_starts_with_new_events(
    api: httpx.AsyncClient, base_url: str
) -> None:
    old = await create_interview(api)
    async with open_stream(base_url, api) as stream:
        await rename(api, old["id"], "Contoso")
        message = await stream.next()

    assert message.event == "interview.updated"


async def test_the_type_filter_sends_only_those_types(
    api: httpx.AsyncClient, base_url: str
) -> None:
    async with open_stream(base_url, api, type="interview.updated") as stream:
        interview = await create_interview(api)
        await rename(api, interview["id"], "Contoso")
        await rename(api, interview["id"], "Fabrikam")
        messages = await stream.take(2)

    assert [m.event for m in messages] == ["interview.updated", "interview.updated"]
    updates = [e["id"] for e in await events_oldest_first(api) if e["type"] == "interview.updated"]
    assert [m.id for m in messages] == updates


async def test_an_unknown_last_event_id_is_a_validation_error(
    api: httpx.AsyncClient, base_url: str
) -> None:
    response = await api.get("/v1/events/stream", headers={"Last-Event-ID": "evt_missing"})

    assert_problem(response, 422, "validation-error")


async def test_other_accounts_events_never_reach_the_stream(
    api: httpx.AsyncClient, new_account: Any, base_url: str
) -> None:
    other = await new_account("Other Co")
    async with open_stream(base_url, api) as stream:
        await create_interview(other)
        mine = await create_interview(api)
        message = await stream.next()

    assert json.loads(message.data)["data"]["interview"]["id"] == mine["id"]


async def test_a_key_gets_at_most_its_streams_then_429(
    api: httpx.AsyncClient, base_url: str
) -> None:
    async with open_stream(base_url, api), open_stream(base_url, api):
        refused = await api.get("/v1/events/stream")
        assert_problem(refused, 429, "rate-limited")
        assert int(refused.headers["retry-after"]) > 0

    # Closed streams give their slots back.
    async with open_stream(base_url, api) as stream:
        interview = await create_interview(api)
        message = await stream.next()
    assert json.loads(message.data)["data"]["interview"]["id"] == interview["id"]


async def test_an_idle_stream_sends_comment_heartbeats(
    settings: Settings, api: httpx.AsyncClient, base_url: str, app: Any
) -> None:
    app.state.settings = settings.model_copy(update={"stream_heartbeat_seconds": 0.1})
    async with open_stream(base_url, api) as stream:
        comments: list[str] = []
        async with asyncio.timeout(WAIT):
            async for line in stream.response.aiter_lines():
                if line.startswith(":"):
                    comments.append(line)
                if len(comments) == 3:
                    break

    assert comments[0] == ": connected"
    assert comments[1:] == [": heartbeat", ": heartbeat"]
