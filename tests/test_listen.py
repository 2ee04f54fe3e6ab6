"""`followup listen` against a real server: a real event reaches a local receiver,
signed with the secret it printed, verifiable by the `standardwebhooks` library."""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from app.enums import EventType
from app.listen import Listener
from app.settings import Settings
from tests.api.factories import create_interview
from tests.live_server import live_server
from tests.receiver import Receiver

WAIT = 20.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"stream_settle_seconds": 0.0, "stream_poll_interval": 0.05})


@pytest.fixture
async def base_url(app: Any) -> AsyncIterator[str]:
    async with live_server(app) as url:
        yield url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.close()


def key_of(api: httpx.AsyncClient) -> str:
    return api.headers["Authorization"].removeprefix("Bearer ")


async def test_listen_forwards_a_real_event_signed_with_the_secret_it_prints(
    api: httpx.AsyncClient, base_url: str, receiver: Receiver
) -> None:
    out = io.StringIO()
    listener = Listener(base_url, key_of(api), receiver.url("/hooks"), out=out)
    task = asyncio.create_task(listener.run(max_events=1))
    async with asyncio.timeout(WAIT):
        await listener.connected.wait()
    interview = await create_interview(api)
    async with asyncio.timeout(WAIT):
        await task

    printed = re.search(r"Webhook signing secret: (whsec_\S+)", out.getvalue())
    assert printed is not None
    [request] = receiver.received("/hooks")
    body = Webhook(printed.group(1)).verify(request.body, request.headers)
    [event] = (await api.get("/v1/events")).json()["data"]
    assert body == event
    assert body["data"]["interview"]["id"] == interview["id"]
    assert request.webhook_id == event["id"]
    assert f"interview.created  {event['id']}  [200]" in out.getvalue()


async def test_listen_resumes_after_the_last_event_it_forwarded(
    api: httpx.AsyncClient, base_url: str, receiver: Receiver
) -> None:
    interview = await create_interview(api)
    await api.patch(f"/v1/interviews/{interview['id']}", json={"company": "Contoso"})
    await api.patch(f"/v1/interviews/{interview['id']}", json={"company": "Fabrikam"})
    events = list(reversed((await api.get("/v1/events")).json()["data"]))
    listener = Listener(
        base_url,
        key_of(api),
        receiver.url("/hooks"),
        events=[EventType.INTERVIEW_UPDATED],
        out=io.StringIO(),
    )
    listener.last_event_id = events[0]["id"]

    async with asyncio.timeout(WAIT):
        await listener.run(max_events=2)

    forwarded = [json.loads(r.body)["id"] for r in receiver.received("/hooks")]
    assert forwarded == [e["id"] for e in events[1:]]
    assert listener.last_event_id == events[-1]["id"]
