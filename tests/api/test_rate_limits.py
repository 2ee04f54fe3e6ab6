"""Contract section 1 (v2): per-key rate limits, the IETF `RateLimit` fields and 429."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
from pydantic import SecretStr, ValidationError

from app.api.ratelimit import MemoryWindows, bearer_digest
from app.main import create_app
from app.settings import Settings
from tests.api.test_accounts import assert_problem
from tests.conftest import ADMIN_TOKEN, NewAccount

REDIS_URL = "redis://127.0.0.1:6379/0"
RATE_FIELD = re.compile(r'^"default";r=(\d+);t=(\d+)$')


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Five requests a minute: a window no test outlives, so nothing depends on timing."""
    return settings.model_copy(update={"rate_limit": "5/minute"})


def remaining(response: httpx.Response) -> int:
    match = RATE_FIELD.match(response.headers["ratelimit"])
    assert match is not None, response.headers["ratelimit"]
    assert 0 <= int(match.group(2)) <= 60
    return int(match.group(1))


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Drive the ASGI lifespan, as a server does, so the app closes what it opened."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, inbox.get, outbox.put))

    async def answer(message: str) -> str:
        await inbox.put({"type": message})
        reply = asyncio.ensure_future(outbox.get())
        await asyncio.wait({reply, task}, return_when=asyncio.FIRST_COMPLETED)
        if not reply.done():
            reply.cancel()
            task.result()  # the app failed: raise its error
        return str(reply.result()["type"])

    assert await answer("lifespan.startup") == "lifespan.startup.complete"
    try:
        yield
    finally:
        assert await answer("lifespan.shutdown") == "lifespan.shutdown.complete"
        await task


async def test_key_over_its_limit_gets_429_and_another_key_is_unaffected(
    new_account: NewAccount,
) -> None:
    alice = await new_account("Alice")
    bob = await new_account("Bob")
    seen = [remaining(await alice.get("/v1/account")) for _ in range(5)]
    assert seen == [4, 3, 2, 1, 0]

    refused = await alice.get("/v1/account")
    body = assert_problem(refused, 429, "rate-limited")
    assert body["title"] == "Too many requests"
    assert refused.headers["ratelimit-policy"] == '"default";q=5;w=60'
    assert remaining(refused) == 0
    retry_after = refused.headers["retry-after"]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 60

    unaffected = await bob.get("/v1/account")
    assert unaffected.status_code == 200
    assert unaffected.headers["ratelimit-policy"] == '"default";q=5;w=60'
    assert remaining(unaffected) == 4


async def test_every_response_to_a_keyed_request_carries_the_fields(
    api: httpx.AsyncClient,
) -> None:
    missing = await api.get("/v1/candidates/nope")
    assert missing.status_code == 404
    assert remaining(missing) == 4
    created = await api.post("/v1/candidates", json={"name": "Jordan"})
    assert created.status_code == 201
    assert remaining(created) == 3
    assert created.headers["ratelimit-policy"] == '"default";q=5;w=60'


async def test_a_refused_request_changes_nothing(api: httpx.AsyncClient) -> None:
    for _ in range(4):
        assert (await api.get("/v1/candidates")).status_code == 200
    assert (await api.post("/v1/candidates", json={"name": "Kept"})).status_code == 201
    refused = await api.post("/v1/candidates", json={"name": "Refused"})
    assert_problem(refused, 429, "rate-limited")


async def test_admin_token_is_limited(client: httpx.AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    for _ in range(5):
        created = await client.post("/admin/accounts", json={"name": "Acme"}, headers=auth)
        assert created.status_code == 201
    refused = await client.post("/admin/accounts", json={"name": "Acme"}, headers=auth)
    assert_problem(refused, 429, "rate-limited")
    assert refused.headers["ratelimit-policy"] == '"default";q=5;w=60'
    assert int(refused.headers["retry-after"]) >= 1


async def test_unauthenticated_and_ops_requests_are_never_limited(
    client: httpx.AsyncClient,
) -> None:
    keyed = {"Authorization": "Bearer some-token"}
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
        for _ in range(7):
            response = await client.get(path, headers=keyed)
            assert response.status_code == 200, path
            assert "ratelimit" not in response.headers
    for _ in range(7):
        anonymous = await client.get("/v1/account")
        assert_problem(anonymous, 401, "unauthorized")
        assert "ratelimit" not in anonymous.headers


async def test_an_invalid_token_is_counted_like_any_other(client: httpx.AsyncClient) -> None:
    wrong = {"Authorization": "Bearer not-a-key"}
    for _ in range(5):
        assert (await client.get("/v1/account", headers=wrong)).status_code == 401
    assert_problem(await client.get("/v1/account", headers=wrong), 429, "rate-limited")


def test_the_counter_key_is_a_digest_of_the_token_never_the_token() -> None:
    scope = {"headers": [(b"authorization", b"Bearer fk_secret-value")]}
    digest = bearer_digest(scope)
    assert digest == hashlib.sha256(b"fk_secret-value").hexdigest()
    assert bearer_digest({"headers": [(b"authorization", b"Basic abc")]}) is None
    assert bearer_digest({"headers": [(b"authorization", b"Bearer ")]}) is None
    assert bearer_digest({"headers": []}) is None


@pytest.mark.parametrize("rate", ["lots", "0/second", "1/second;5/minute", ""])
def test_a_malformed_rate_is_refused(rate: str) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, rate_limit=rate)  # type: ignore[call-arg]


def test_the_default_rate_is_generous(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FOLLOWUP_RATE_LIMIT", raising=False)
    assert Settings(_env_file=None).rate_limit == "50/second"  # type: ignore[call-arg]


async def _redis_or_skip() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except (redis.ConnectionError, OSError):
        await client.aclose()
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    return client


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    client = await _redis_or_skip()
    prefix = f"followup-test-{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_limit_is_shared_across_app_instances_through_redis(
    settings: Settings, redis_prefix: str
) -> None:
    shared = settings.model_copy(
        update={"redis_url": SecretStr(REDIS_URL), "redis_prefix": redis_prefix}
    )
    first, second = create_app(shared), create_app(shared)
    async with lifespan(first), lifespan(second):
        one = httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://a")
        two = httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://b")
        async with one, two:
            created = await one.post(
                "/admin/accounts",
                json={"name": "Shared"},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            )
            assert created.status_code == 201
            key = created.json()["api_key"]
            auth = {"Authorization": f"Bearer {key}"}
            counts = []
            for client in (one, two, one, two, one):
                response = await client.get("/v1/account", headers=auth)
                assert response.status_code == 200
                counts.append(remaining(response))
            assert counts == [4, 3, 2, 1, 0]
            assert_problem(await two.get("/v1/account", headers=auth), 429, "rate-limited")
            assert_problem(await one.get("/v1/account", headers=auth), 429, "rate-limited")

        client = redis.Redis.from_url(REDIS_URL)
        try:
            stored = [k.decode() async for k in client.scan_iter(match=f"{redis_prefix}:*")]
        finally:
            await client.aclose()
    digest = hashlib.sha256(key.encode()).hexdigest()
    assert any(digest in name for name in stored)
    assert not any(key in name or ADMIN_TOKEN in name for name in stored)


async def test_unreachable_redis_fails_open_with_one_warning(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    broken = settings.model_copy(update={"redis_url": SecretStr("redis://:hunter2@127.0.0.1:1/0")})
    app = create_app(broken)
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            with caplog.at_level(logging.WARNING, logger="app.api.ratelimit"):
                for _ in range(7):
                    response = await http.post("/admin/accounts", json={"name": "A"}, headers=auth)
                    assert response.status_code == 201
                    assert "ratelimit" not in response.headers
    warnings = [r for r in caplog.records if r.name == "app.api.ratelimit"]
    assert len(warnings) == 1
    assert "hunter2" not in caplog.text
    assert ADMIN_TOKEN not in caplog.text


async def test_the_openapi_document_shows_the_429_of_every_limited_operation(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    for path, method in (("/v1/account", "get"), ("/admin/accounts", "post")):
        refused = paths[path][method]["responses"]["429"]
        assert {"Retry-After", "RateLimit-Policy", "RateLimit"} <= set(refused["headers"])
        assert "application/problem+json" in refused["content"]
    assert "429" not in paths["/healthz"]["get"]["responses"]
    limited = [
        op for path, item in paths.items() if path.startswith("/v1/") for op in item.values()
    ]
    assert limited and all("429" in op["responses"] for op in limited)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_memory_windows_count_per_key_and_restart_when_the_window_ends() -> None:
    clock = FakeClock()
    windows = MemoryWindows(clock=clock)
    assert [await windows.incr("a", 60) for _ in range(3)] == [1, 2, 3]
    assert await windows.incr("b", 60) == 1
    assert await windows.get_expiry("a") == clock.now + 60
    clock.now += 59.9
    assert await windows.incr("a", 60) == 4
    clock.now += 0.1
    assert await windows.get("a") == 0
    assert await windows.incr("a", 60) == 1
    assert await windows.get_expiry("a") == clock.now + 60


async def test_memory_windows_drop_ended_windows_and_stay_bounded() -> None:
    clock = FakeClock()
    windows = MemoryWindows(max_keys=100, clock=clock)
    for i in range(50):
        await windows.incr(f"old-{i}", 1)
    clock.now += 2
    await windows.incr("new", 1)
    assert await windows.reset() == 1  # the 50 ended windows were swept

    for i in range(100):
        await windows.incr(f"key-{i}", 60)
    assert await windows.incr("key-0", 60) == 1  # full table: emptied, counts restart
    assert await windows.reset() == 1
