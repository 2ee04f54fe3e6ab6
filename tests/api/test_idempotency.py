"""Idempotency as one atomic phase (contract section 1, v2): scoped by the caller,
committed with the change, never replayed to a stranger, never keeping a secret."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import MetaData, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import utcnow
from app.db.models import IdempotencyRecord
from tests.api.factories import create_interview
from tests.api.test_accounts import assert_problem
from tests.conftest import ADMIN_TOKEN, NewAccount

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def admin_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_admin_response_is_never_replayed_to_an_unauthenticated_caller(
    app: FastAPI,
) -> None:
    async with admin_client(app) as http:
        key = {"Idempotency-Key": "acct-1"}
        created = await http.post("/admin/accounts", json={"name": "A"}, headers={**ADMIN, **key})
        assert created.status_code == 201
        anonymous = await http.post("/admin/accounts", json={"name": "A"}, headers=key)
        wrong = await http.post(
            "/admin/accounts",
            json={"name": "A"},
            headers={**key, "Authorization": "Bearer not-the-token"},
        )
    for response in (anonymous, wrong):
        assert_problem(response, 404, "not-found")
        assert "idempotent-replayed" not in response.headers
        assert "api_key" not in response.text


async def test_a_key_used_first_by_a_stranger_does_not_poison_the_operator(
    app: FastAPI,
) -> None:
    async with admin_client(app) as http:
        key = {"Idempotency-Key": "acct-2"}
        stranger = await http.post("/admin/accounts", json={"name": "B"}, headers=key)
        assert_problem(stranger, 404, "not-found")
        operator = await http.post("/admin/accounts", json={"name": "B"}, headers={**ADMIN, **key})
    assert operator.status_code == 201
    assert "idempotent-replayed" not in operator.headers
    assert operator.json()["api_key"].startswith("fu_")


async def test_replayed_account_creation_omits_the_api_key(app: FastAPI) -> None:
    async with admin_client(app) as http:
        headers = {**ADMIN, "Idempotency-Key": "acct-3"}
        first = await http.post("/admin/accounts", json={"name": "C"}, headers=headers)
        again = await http.post("/admin/accounts", json={"name": "C"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == {**first.json(), "api_key": None}
    assert again.headers["secret-omitted"] == "true"
    assert again.headers["idempotent-replayed"] == "true"


async def test_replayed_api_key_creation_omits_the_key(api: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "key-1"}
    first = await api.post("/v1/api-keys", json={"name": "ci"}, headers=headers)
    again = await api.post("/v1/api-keys", json={"name": "ci"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["api_key"].startswith("fu_")
    assert again.json() == {**first.json(), "api_key": None}
    assert again.headers["secret-omitted"] == "true"
    assert len((await api.get("/v1/api-keys")).json()["data"]) == 2, "default key + one"


async def test_replayed_rotation_omits_the_secret_and_rotates_once(api: httpx.AsyncClient) -> None:
    endpoint = await api.post("/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/h"})
    url = f"/v1/webhook-endpoints/{endpoint.json()['id']}/rotate-secret"
    headers = {"Idempotency-Key": "rotate-1"}
    first = await api.post(url, headers=headers)
    again = await api.post(url, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == {**first.json(), "secret": None}
    assert again.headers["secret-omitted"] == "true"
    assert first.json()["secret"] != endpoint.json()["secret"]


async def _every_value(app: FastAPI) -> list[str]:
    factory: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    metadata = MetaData()
    async with factory() as session:
        connection = await session.connection()
        await connection.run_sync(lambda sync: metadata.reflect(sync))
        values: list[str] = []
        for table in metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                values.extend(json.dumps(value, default=str) for value in row)
        return values


async def test_no_table_holds_a_plain_api_key_or_webhook_secret(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    plain: list[str] = []
    async with admin_client(app) as http:
        headers = {**ADMIN, "Idempotency-Key": "acct-4"}
        created = await http.post("/admin/accounts", json={"name": "D"}, headers=headers)
        plain.append(created.json()["api_key"])
    key = await api.post("/v1/api-keys", json={}, headers={"Idempotency-Key": "k"})
    plain.append(key.json()["api_key"])
    endpoint = await api.post(
        "/v1/webhook-endpoints",
        json={"url": "http://127.0.0.1:9/h"},
        headers={"Idempotency-Key": "e"},
    )
    plain.append(endpoint.json()["secret"])
    rotated = await api.post(
        f"/v1/webhook-endpoints/{endpoint.json()['id']}/rotate-secret",
        headers={"Idempotency-Key": "r"},
    )
    plain.append(rotated.json()["secret"])

    values = await _every_value(app)
    assert values, "the tables were read"
    for secret in plain:
        assert not any(secret in value for value in values), "a plain secret is stored"
    assert not any("whsec_" in value for value in values)
    full_key = re.compile(r"fu_[A-Za-z0-9_-]{40,}")
    assert not any(full_key.search(value) for value in values), "only a key's prefix is kept"


async def test_racing_duplicates_never_get_409_and_run_the_change_once(
    api: httpx.AsyncClient,
) -> None:
    rounds = 200
    for index in range(rounds):
        headers = {"Idempotency-Key": f"round-{index}"}
        body = {"name": f"Racer {index}"}
        racing = await asyncio.gather(
            *(api.post("/v1/candidates", json=body, headers=headers) for _ in range(3))
        )
        after = await api.post("/v1/candidates", json=body, headers=headers)
        assert [r.status_code for r in [*racing, after]] == [201] * 4, index
        assert len({r.json()["id"] for r in [*racing, after]}) == 1
        assert after.headers["idempotent-replayed"] == "true"
    listed: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/candidates", params=params)).json()
        listed.extend(page["data"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(listed) == rounds


async def test_a_response_lost_after_commit_is_replayed_not_run_again(
    app: FastAPI, new_account: NewAccount
) -> None:
    """The process dies (or the connection drops) after the commit, before the response:
    the client's retry gets the committed response; the change ran once."""
    api = await new_account()
    body = json.dumps({"name": "Once"}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/candidates",
        "raw_path": b"/v1/candidates",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"test"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"idempotency-key", b"lost"),
            (b"authorization", api.headers["authorization"].encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            await asyncio.sleep(3600)
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def dying_send(message: dict[str, Any]) -> None:
        raise ConnectionResetError("the process died before answering")

    with contextlib.suppress(ConnectionResetError):
        await app(scope, receive, dying_send)
    retry = await api.post(
        "/v1/candidates",
        content=body,
        headers={"Idempotency-Key": "lost", "content-type": "application/json"},
    )
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert [c["name"] for c in (await api.get("/v1/candidates")).json()["data"]] == ["Once"]


async def test_failed_request_is_replayed_and_changes_nothing(api: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "dup-external"}
    await api.post("/v1/candidates", json={"name": "A", "external_id": "x-1"})
    first = await api.post(
        "/v1/candidates", json={"name": "B", "external_id": "x-1"}, headers=headers
    )
    again = await api.post(
        "/v1/candidates", json={"name": "B", "external_id": "x-1"}, headers=headers
    )
    assert_problem(first, 409, "conflict")
    assert again.status_code == 409 and again.headers["idempotent-replayed"] == "true"
    assert len((await api.get("/v1/candidates")).json()["data"]) == 1


async def test_a_key_past_its_24_hours_runs_the_request_again(
    api: httpx.AsyncClient, app: FastAPI
) -> None:
    headers = {"Idempotency-Key": "old-key"}
    first = await api.post("/v1/candidates", json={"name": "A"}, headers=headers)
    assert first.status_code == 201
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == "old-key")
            .values(created_at=utcnow() - timedelta(hours=25))
        )
    # Another body under the same key: no longer a reuse, the request runs.
    second = await api.post("/v1/candidates", json={"name": "B"}, headers=headers)
    assert second.status_code == 201, second.text
    assert "idempotent-replayed" not in second.headers
    assert second.json()["id"] != first.json()["id"]
    replay = await api.post("/v1/candidates", json={"name": "B"}, headers=headers)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == second.json()


async def test_an_unknown_api_key_with_a_key_is_401_and_keeps_nothing(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    headers = {"Idempotency-Key": "stranger", "Authorization": "Bearer fu_not-a-key"}
    async with admin_client(app) as stranger:
        refused = await stranger.post("/v1/candidates", json={"name": "A"}, headers=headers)
    assert_problem(refused, 401, "unauthorized")
    async with app.state.sessionmaker() as session:
        kept = await session.scalar(
            select(IdempotencyRecord).where(IdempotencyRecord.key == "stranger")
        )
    assert kept is None
    created = await api.post(
        "/v1/candidates", json={"name": "A"}, headers={"Idempotency-Key": "stranger"}
    )
    assert created.status_code == 201 and "idempotent-replayed" not in created.headers


async def test_racing_recorded_attempts_store_each_attempt_and_event_once(
    api: httpx.AsyncClient,
) -> None:
    """Recording an attempt is one statement on PostgreSQL, and under a key the key's
    record goes out in that statement: racing duplicates still run it once."""
    interview = await create_interview(api)
    url = f"/v1/interviews/{interview['id']}/contact-attempts"
    rounds = 15
    for index in range(rounds):
        headers = {"Idempotency-Key": f"attempt-{index}"}
        body = {"channel": "in_person", "direction": "inbound"}
        racing = await asyncio.gather(
            *(api.post(url, json=body, headers=headers) for _ in range(3))
        )
        after = await api.post(url, json=body, headers=headers)
        assert [r.status_code for r in [*racing, after]] == [201] * 4, index
        assert len({r.json()["id"] for r in [*racing, after]}) == 1
        assert after.headers["idempotent-replayed"] == "true"
    stored = (await api.get(url, params={"limit": 200})).json()["data"]
    assert len(stored) == rounds
    params = {"type": "contact_attempt.recorded", "limit": 200}
    recorded = (await api.get("/v1/events", params=params)).json()["data"]
    assert len(recorded) == rounds


async def test_a_refusal_under_a_key_is_replayed_and_emitted_once(
    api: httpx.AsyncClient,
) -> None:
    """A refused attempt stores nothing but its `contact_attempt.rejected` event, which
    goes out with the key's record; the retry replays the refusal and emits nothing."""
    interview = await create_interview(api)
    url = f"/v1/interviews/{interview['id']}/contact-attempts"
    body = {"channel": "public_post", "platform": "linkedin", "body": "Great interview today!"}
    headers = {"Idempotency-Key": "refused"}
    first = await api.post(url, json=body, headers=headers)
    again = await api.post(url, json=body, headers=headers)
    assert_problem(first, 422, "policy-violation")
    assert again.status_code == 422 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert (await api.get(url)).json()["data"] == []
    params = {"type": "contact_attempt.rejected"}
    assert len((await api.get("/v1/events", params=params)).json()["data"]) == 1
    events = (await api.get("/v1/events", params={"limit": 200})).json()["data"]
    invalid = await api.post(url, json={"channel": "fax"}, headers={"Idempotency-Key": "bad"})
    assert_problem(invalid, 422, "validation-error")
    replayed = await api.post(url, json={"channel": "fax"}, headers={"Idempotency-Key": "bad"})
    assert replayed.headers["idempotent-replayed"] == "true"
    assert (await api.get("/v1/events", params={"limit": 200})).json()["data"] == events
