"""The worker's transport: a connection pool per endpoint, bounded in number."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.clock import utcnow
from app.webhooks.sender import POOL, Message, send_one
from app.webhooks.signing import generate_secret
from app.worker.pools import EndpointPools
from tests.receiver import Receiver


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = EndpointPools(connections=2, keep=2, shared=4)
    async with httpx.AsyncClient(transport=transport, trust_env=False) as http:
        yield http


async def post(client: httpx.AsyncClient, url: str, pool: str | None) -> None:
    request = client.build_request("POST", url, content=b"{}")
    if pool is not None:
        request.extensions[POOL] = pool
    response = await client.send(request)
    assert response.status_code == 200


def pools(client: httpx.AsyncClient) -> EndpointPools:
    transport = client._transport
    assert isinstance(transport, EndpointPools)
    return transport


async def test_each_named_pool_keeps_its_own_connections_alive(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    for pool in ("we_a", "we_b", "we_a", "we_b", None, None):
        await post(client, receiver.url(), pool)

    assert len(receiver.received()) == 6
    assert receiver.connections == 3, "one per pool, each reused"
    assert pools(client).pools == 2


async def test_the_least_recently_used_idle_pool_is_closed_beyond_keep(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    for pool in ("we_a", "we_b", "we_a", "we_c"):
        await post(client, receiver.url(), pool)
    assert pools(client).pools == 2
    await post(client, receiver.url(), "we_a")
    assert receiver.connections == 3, "we_a was used lately: still open"
    await post(client, receiver.url(), "we_b")
    assert receiver.connections == 4, "we_b was closed, and opens anew"


async def test_a_pool_with_a_response_open_is_never_closed(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    request = client.build_request("POST", receiver.url(), content=b"{}")
    request.extensions[POOL] = "we_busy"
    busy = await client.send(request, stream=True)
    for pool in ("we_b", "we_c", "we_d"):
        await post(client, receiver.url(), pool)

    assert pools(client).pools == 2, "we_busy and the most recent"
    assert (await busy.aread()) == b"ok"
    await busy.aclose()
    await post(client, receiver.url(), "we_busy")
    assert receiver.connections == 4, "we_busy's connection was kept, and is reused"
    await post(client, receiver.url(), "we_e")  # closes we_d, the least recently used
    await post(client, receiver.url(), "we_d")  # closes we_busy, idle now
    await post(client, receiver.url(), "we_busy")
    assert receiver.connections == 7, "once idle, we_busy's pool was closed like any other"


async def test_an_attempt_names_its_pool() -> None:
    seen: list[object] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions.get(POOL))
        return httpx.Response(200, stream=httpx.ByteStream(b"ok"))

    secret = (generate_secret(),)
    message = Message(url="http://127.0.0.1:9/hook", event_id="evt_1", body=b"{}", secrets=secret)
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        for pool in ("we_a", None):
            result = await send_one(
                http, message, utcnow(), timeout=2, allow_private=True, pool=pool
            )
            assert result.status_code == 200

    assert seen == ["we_a", None]
