"""Request ids and log lines through the API and the dispatcher; no secret in any line,
even at DEBUG."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.logs import REDACTED
from app.settings import Settings
from app.worker.dispatcher import Dispatcher
from tests.conftest import ADMIN_TOKEN
from tests.receiver import Receiver, Reply
from tests.test_logs import captured, lines


async def test_a_request_id_is_echoed_and_on_every_line_of_the_request(
    api: httpx.AsyncClient,
) -> None:
    created = await api.post("/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/h"})
    endpoint_id = created.json()["id"]
    await api.patch(f"/v1/webhook-endpoints/{endpoint_id}", json={"enabled": False})
    with captured() as stream:
        response = await api.patch(
            f"/v1/webhook-endpoints/{endpoint_id}",
            json={"enabled": True},
            headers={"X-Request-ID": "trace-7f3a"},
        )

    assert response.headers["x-request-id"] == "trace-7f3a"
    logged = lines(stream)
    assert [line["event"] for line in logged] == [
        f"webhook endpoint {endpoint_id} enabled by the account",
        f"PATCH /v1/webhook-endpoints/{endpoint_id} 200",
    ]
    assert {line["request_id"] for line in logged} == {"trace-7f3a"}
    assert logged[1]["status"] == 200
    assert logged[1]["method"] == "PATCH"


async def test_a_request_without_an_id_gets_a_new_one_even_when_refused_early(
    client: httpx.AsyncClient,
) -> None:
    ok = await client.get("/healthz")
    too_large = await client.post("/v1/candidates", content=b"x" * (1024 * 1024 + 1))

    ids = {ok.headers["x-request-id"], too_large.headers["x-request-id"]}
    assert too_large.status_code == 413
    assert len(ids) == 2
    assert all(len(value) == 32 for value in ids)


async def _deliver_everything(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        dispatcher = Dispatcher(settings, sessions, http)
        assert await dispatcher.fill() >= 1
        await asyncio.sleep(0)  # the started attempts get going before `drain` stops intake
        await dispatcher.drain(10)


async def test_each_attempt_is_one_line_without_the_query_string(
    api: httpx.AsyncClient, app: Any, settings: Settings
) -> None:
    receiver = Receiver().start()
    try:
        url = receiver.url("/hooks?token=query-secret")
        created = await api.post("/v1/webhook-endpoints", json={"url": url})
        test = await api.post(f"/v1/webhook-endpoints/{created.json()['id']}/test")
        with captured() as stream:
            await _deliver_everything(settings, app.state.sessionmaker)
    finally:
        receiver.close()

    [line] = lines(stream)
    delivery = test.json()
    assert line["delivery_id"] == delivery["id"]
    assert line["event_id"] == delivery["event_id"]
    assert line["endpoint_id"] == created.json()["id"]
    assert line["status_code"] == 200
    assert line["outcome"] == "succeeded"
    assert isinstance(line["duration_ms"], int)
    assert line["url"] == receiver.url("/hooks")
    assert "query-secret" not in stream.getvalue()
    assert "HTTP Request" not in stream.getvalue()


async def test_no_secret_is_logged_at_debug(
    client: httpx.AsyncClient, app: Any, settings: Settings
) -> None:
    """An account and key, a delivery and a rotation at DEBUG: no API key, webhook secret
    or admin token in the log, and nothing even needed redacting."""
    receiver = Receiver().start()
    try:
        with captured(level="DEBUG", secrets=(ADMIN_TOKEN,)) as stream:
            admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            account = await client.post("/admin/accounts", json={"name": "Acme"}, headers=admin)
            key = account.json()["api_key"]
            auth = {"Authorization": f"Bearer {key}"}
            extra_key = (await client.post("/v1/api-keys", json={}, headers=auth)).json()
            created = await client.post(
                "/v1/webhook-endpoints", json={"url": receiver.url()}, headers=auth
            )
            endpoint = created.json()
            rotated = await client.post(
                f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=auth
            )
            await client.post(f"/v1/webhook-endpoints/{endpoint['id']}/test", headers=auth)
            await _deliver_everything(settings, app.state.sessionmaker)
            await client.get("/v1/account", headers={"Authorization": "Bearer fu_wrong_key_123"})
    finally:
        receiver.close()

    text = stream.getvalue()
    secrets = [
        key,
        extra_key["api_key"],
        endpoint["secret"],
        rotated.json()["secret"],
        ADMIN_TOKEN,
        "fu_wrong_key_123",
    ]
    assert all(secret not in text for secret in secrets)
    assert REDACTED not in text
    logged = lines(stream)
    assert any(line.get("outcome") == "succeeded" for line in logged), "the delivery was logged"
    assert any(str(line["event"]).startswith("POST /admin/accounts 201") for line in logged)
    assert json.dumps(logged)  # every line was JSON


async def test_an_endpoint_disabled_by_410_is_logged_once(
    api: httpx.AsyncClient, app: Any, settings: Settings
) -> None:
    receiver = Receiver().start()
    try:
        receiver.reply("/gone", Reply(410))
        created = await api.post("/v1/webhook-endpoints", json={"url": receiver.url("/gone")})
        endpoint_id = created.json()["id"]
        for _ in range(3):
            await api.post(f"/v1/webhook-endpoints/{endpoint_id}/test")
        with captured() as stream:
            await _deliver_everything(settings, app.state.sessionmaker)
    finally:
        receiver.close()

    logged = lines(stream)
    disabled = [line for line in logged if line.get("reason")]
    assert [line["event"] for line in disabled] == [
        f"webhook endpoint {endpoint_id} disabled: 410 Gone"
    ]
    assert disabled[0]["level"] == "warning"
    assert [line["outcome"] for line in logged if "outcome" in line] == ["failed"] * 3
