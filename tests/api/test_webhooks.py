"""Contract section 8 through the API: webhook endpoints, deliveries, tests, redelivery."""

from __future__ import annotations

import base64
import random
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.deps import get_resolver
from app.clock import utcnow
from app.db.models import WebhookDelivery
from app.enums import EventType
from app.main import create_app
from app.schemas.events import EVENT_EXAMPLES
from app.services.events import record_event
from app.services.leases import lease_for, record_results, release
from app.settings import Settings
from app.webhooks.sender import AttemptResult
from tests.api.test_accounts import assert_problem
from tests.conftest import NewAccount
from tests.worker.helpers import claim_due

HOOK = "http://127.0.0.1:9/hook"
"""Never called here: these tests only manage endpoints and queue deliveries."""

PUBLIC_FIELDS = {
    "id",
    "url",
    "description",
    "event_types",
    "enabled",
    "disabled_reason",
    "failing_since",
    "previous_secret_expires_at",
    "created_at",
    "updated_at",
}


async def create(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await api.post("/v1/webhook-endpoints", json={"url": HOOK, **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def account_of(api: httpx.AsyncClient) -> str:
    return str((await api.get("/v1/account")).json()["id"])


def sessions(app: Any) -> async_sessionmaker[AsyncSession]:
    factory: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return factory


async def record(app: Any, account: str, event_type: EventType) -> str:
    async with sessions(app)() as session, session.begin():
        data = EVENT_EXAMPLES[event_type]
        return (await record_event(session, account, event_type, data, utcnow())).id


def parse_utc(value: str) -> datetime:
    assert value.endswith("Z")
    return datetime.fromisoformat(value)


# Endpoints ----------------------------------------------------------------------------


async def test_create_returns_the_secret_once(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/webhook-endpoints",
        json={"url": HOOK, "description": "CRM sync", "event_types": ["interview.created"]},
    )

    assert response.status_code == 201
    created = response.json()
    assert set(created) == PUBLIC_FIELDS | {"secret"}
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) >= 24
    assert created["enabled"] is True and created["disabled_reason"] is None
    assert created["event_types"] == ["interview.created"]
    assert created["created_at"].endswith("Z")
    shown = (await api.get(f"/v1/webhook-endpoints/{created['id']}")).json()
    listed = (await api.get("/v1/webhook-endpoints")).json()
    assert set(shown) == PUBLIC_FIELDS
    assert [set(item) for item in listed["data"]] == [PUBLIC_FIELDS]
    assert listed["next_cursor"] is None
    assert created["secret"] not in str(shown) + str(listed)


async def test_omitted_or_empty_event_types_mean_all(api: httpx.AsyncClient) -> None:
    assert (await create(api))["event_types"] == []
    assert (await create(api, event_types=[]))["event_types"] == []


async def test_duplicate_event_types_are_stored_once(api: httpx.AsyncClient) -> None:
    created = await create(api, event_types=["interview.created", "interview.created"])
    assert created["event_types"] == ["interview.created"]


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"url": HOOK, "event_types": ["interview.deleted"]}, ["body", "event_types", 0]),
        ({"url": HOOK, "secret": "whsec_mine"}, ["body", "secret"]),
        ({"url": "http://example.com/" + "a" * 2048}, ["body", "url"]),
        ({"url": HOOK, "description": "d" * 501}, ["body", "description"]),
        ({"url": HOOK, "enabled": "maybe"}, ["body", "enabled"]),
        ({}, ["body", "url"]),
    ],
)
async def test_invalid_bodies_are_422(
    api: httpx.AsyncClient, body: dict[str, Any], loc: list[Any]
) -> None:
    problem = assert_problem(
        await api.post("/v1/webhook-endpoints", json=body), 422, "validation-error"
    )
    assert loc in [error["loc"] for error in problem["errors"]]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/hook", "http://user:pw@example.com/hook", "not a url", "http:///x"],
)
async def test_url_shapes_are_checked_even_when_private_hosts_are_allowed(
    api: httpx.AsyncClient, url: str
) -> None:
    problem = assert_problem(
        await api.post("/v1/webhook-endpoints", json={"url": url}), 422, "validation-error"
    )
    assert problem["errors"] == [{"loc": ["body", "url"], "msg": problem["detail"]}]


class FakeDNS:
    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        if host not in self.table:
            raise OSError("Name or service not known")
        return self.table[host]


@pytest.fixture
async def strict_api(
    settings: Settings, new_account: NewAccount
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app that refuses private webhook URLs, with fake DNS."""
    app = create_app(settings.model_copy(update={"webhook_allow_private": False}))
    dns = FakeDNS(
        {
            "hooks.example.com": ["93.184.216.34"],
            "intranet.example.com": ["10.0.0.7"],
            "mixed.example.com": ["93.184.216.34", "127.0.0.1"],
        }
    )
    app.dependency_overrides[get_resolver] = lambda: dns
    key = (await new_account()).headers["authorization"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers={"authorization": key}
    ) as client:
        yield client
    await app.state.engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://intranet.example.com/hook",
        "http://mixed.example.com/hook",
        "http://unknown.example.com/hook",
    ],
)
async def test_ssrf_guard_refuses_urls_at_create(strict_api: httpx.AsyncClient, url: str) -> None:
    response = await strict_api.post("/v1/webhook-endpoints", json={"url": url})
    problem = assert_problem(response, 422, "validation-error")
    assert [e["loc"] for e in problem["errors"]] == [["body", "url"]]  # type: ignore[attr-defined]
    assert (await strict_api.get("/v1/webhook-endpoints")).json()["data"] == []


async def test_ssrf_guard_accepts_public_hosts_and_checks_updates(
    strict_api: httpx.AsyncClient,
) -> None:
    created = await strict_api.post(
        "/v1/webhook-endpoints", json={"url": "https://hooks.example.com/followup"}
    )
    assert created.status_code == 201, created.text
    url = f"/v1/webhook-endpoints/{created.json()['id']}"

    refused = await strict_api.patch(url, json={"url": "http://intranet.example.com/hook"})

    problem = assert_problem(refused, 422, "validation-error")
    assert problem["errors"][0]["loc"] == ["body", "url"]  # type: ignore[index]
    assert (await strict_api.get(url)).json()["url"] == "https://hooks.example.com/followup"


async def test_patch_updates_only_the_fields_sent(api: httpx.AsyncClient) -> None:
    created = await create(api, description="old", event_types=["interview.created"])
    url = f"/v1/webhook-endpoints/{created['id']}"

    patched = await api.patch(url, json={"description": None, "url": "http://127.0.0.1:8/new"})

    assert patched.status_code == 200
    body = patched.json()
    assert body["description"] is None
    assert body["url"] == "http://127.0.0.1:8/new"
    assert body["event_types"] == ["interview.created"]
    assert "secret" not in body


@pytest.mark.parametrize("field", ["url", "event_types", "enabled"])
async def test_patch_cannot_null_required_fields(api: httpx.AsyncClient, field: str) -> None:
    created = await create(api)
    response = await api.patch(f"/v1/webhook-endpoints/{created['id']}", json={field: None})
    assert_problem(response, 422, "validation-error")


async def test_disabling_and_reenabling(api: httpx.AsyncClient, app: Any) -> None:
    created = await create(api)
    url = f"/v1/webhook-endpoints/{created['id']}"

    disabled = (await api.patch(url, json={"enabled": False})).json()
    assert disabled["enabled"] is False and disabled["disabled_reason"]
    from app.db.models import WebhookEndpoint

    async with sessions(app)() as session, session.begin():
        endpoint = await session.get(WebhookEndpoint, created["id"])
        assert endpoint is not None
        endpoint.failing_since = utcnow() - timedelta(days=6)
        endpoint.disabled_reason = "The endpoint answered 410 Gone."
    enabled = (await api.patch(url, json={"enabled": True})).json()

    assert enabled["enabled"] is True
    assert enabled["disabled_reason"] is None
    assert enabled["failing_since"] is None


async def test_created_disabled_has_a_reason(api: httpx.AsyncClient) -> None:
    created = await create(api, enabled=False)
    assert created["enabled"] is False and created["disabled_reason"]


async def test_delete_is_204_then_404(api: httpx.AsyncClient) -> None:
    created = await create(api)
    url = f"/v1/webhook-endpoints/{created['id']}"

    response = await api.delete(url)

    assert response.status_code == 204 and response.content == b""
    assert_problem(await api.get(url), 404, "not-found")
    assert_problem(await api.delete(url), 404, "not-found")


async def test_rotate_secret_returns_a_new_secret_and_keeps_the_old_for_a_day(
    api: httpx.AsyncClient,
) -> None:
    created = await create(api)

    response = await api.post(f"/v1/webhook-endpoints/{created['id']}/rotate-secret")

    assert response.status_code == 200
    rotated = response.json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    expires = parse_utc(rotated["previous_secret_expires_at"])
    assert timedelta(hours=23, minutes=59) < expires - utcnow() <= timedelta(hours=24)
    shown = (await api.get(f"/v1/webhook-endpoints/{created['id']}")).json()
    assert "secret" not in shown and shown["previous_secret_expires_at"]


async def test_list_is_paginated_newest_first(api: httpx.AsyncClient) -> None:
    ids = [(await create(api, description=str(n)))["id"] for n in range(3)]
    first = (await api.get("/v1/webhook-endpoints", params={"limit": 2})).json()
    second = (
        await api.get("/v1/webhook-endpoints", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    seen = [item["id"] for item in first["data"] + second["data"]]
    assert seen == list(reversed(ids))
    assert second["next_cursor"] is None


# Test events, deliveries, redelivery ---------------------------------------------------


async def test_test_route_queues_a_webhook_test_for_that_endpoint_only(
    api: httpx.AsyncClient, app: Any
) -> None:
    target = await create(api)
    await create(api, description="another endpoint that wants everything")

    response = await api.post(f"/v1/webhook-endpoints/{target['id']}/test")

    assert response.status_code == 202
    delivery = response.json()
    assert delivery["endpoint_id"] == target["id"]
    assert delivery["status"] == "pending" and delivery["attempt_count"] == 0
    event = (await api.get(f"/v1/events/{delivery['event_id']}")).json()
    assert event["type"] == "webhook.test"
    async with sessions(app)() as session:
        rows = (
            await session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.event_id == event["id"])
            )
        ).all()
    assert [row.endpoint_id for row in rows] == [target["id"]]


async def test_test_route_on_a_disabled_endpoint_is_409(api: httpx.AsyncClient) -> None:
    created = await create(api, enabled=False)
    response = await api.post(f"/v1/webhook-endpoints/{created['id']}/test")
    assert_problem(response, 409, "conflict")


async def test_endpoint_deliveries_filter_by_status(api: httpx.AsyncClient, app: Any) -> None:
    endpoint = await create(api)
    account = await account_of(api)
    first = await record(app, account, EventType.INTERVIEW_CREATED)
    second = await record(app, account, EventType.INTERVIEW_UPDATED)
    await _finish_one(app, first, status_code=200)
    url = f"/v1/webhook-endpoints/{endpoint['id']}/deliveries"

    every = (await api.get(url)).json()
    pending = (await api.get(url, params={"status": "pending"})).json()
    succeeded = (await api.get(url, params={"status": "succeeded"})).json()

    assert [d["event_id"] for d in every["data"]] == [second, first]
    assert [d["event_id"] for d in pending["data"]] == [second]
    assert [d["event_id"] for d in succeeded["data"]] == [first]
    assert (await api.get(url, params={"status": "failed"})).json()["data"] == []
    assert_problem(await api.get(url, params={"status": "done"}), 422, "validation-error")


async def _finish_one(app: Any, event_id: str, status_code: int) -> str:
    """Claim the event's delivery and record an attempt with `status_code`."""
    settings: Settings = app.state.settings
    now = utcnow()
    async with sessions(app)() as session, session.begin():
        items = await claim_due(session, now, 100, lease_for(settings), box=settings.secret_box())
    [item] = [i for i in items if i.message.event_id == event_id]
    async with sessions(app)() as session, session.begin():
        await release(session, [i for i in items if i is not item])
    result = AttemptResult(
        attempted_at=now,
        duration_ms=12,
        status_code=status_code,
        error=None,
        response_body="r" * 10,
        retry_after=None,
    )
    async with sessions(app)() as session, session.begin():
        await record_results(session, [(item, result)], settings, now, random.Random(3))
    return item.delivery_id


async def test_delivery_shows_its_attempts(api: httpx.AsyncClient, app: Any) -> None:
    await create(api)
    event = await record(app, await account_of(api), EventType.INTERVIEW_CREATED)
    delivery_id = await _finish_one(app, event, status_code=500)

    response = await api.get(f"/v1/webhook-deliveries/{delivery_id}")

    assert response.status_code == 200
    delivery = response.json()
    assert delivery["status"] == "pending" and delivery["attempt_count"] == 1
    assert delivery["next_attempt_at"].endswith("Z")
    [attempt] = delivery["attempts"]
    assert set(attempt) == {
        "id",
        "attempted_at",
        "duration_ms",
        "status_code",
        "error",
        "response_body",
    }
    assert attempt["status_code"] == 500 and attempt["duration_ms"] == 12
    assert attempt["response_body"] == "r" * 10 and attempt["error"] is None
    assert attempt["attempted_at"].endswith("Z")


async def test_redeliver_resets_a_finished_delivery(api: httpx.AsyncClient, app: Any) -> None:
    endpoint = await create(api)
    event = await record(app, await account_of(api), EventType.INTERVIEW_CREATED)
    delivery_id = await _finish_one(app, event, status_code=200)

    response = await api.post(f"/v1/events/{event}/redeliver", json={})

    assert response.status_code == 202
    body = response.json()
    assert body["event_id"] == event
    [delivery] = body["deliveries"]
    assert delivery["id"] == delivery_id and delivery["endpoint_id"] == endpoint["id"]
    assert (delivery["status"], delivery["attempt_count"]) == ("pending", 0)
    shown = (await api.get(f"/v1/webhook-deliveries/{delivery_id}")).json()
    assert len(shown["attempts"]) == 1, "the attempt log is kept"


async def test_redeliver_to_one_endpoint_creates_a_delivery(
    api: httpx.AsyncClient, app: Any
) -> None:
    created_only = await create(api, event_types=["interview.created"])
    other = await create(api, event_types=["interview.decided"])
    event = await record(app, await account_of(api), EventType.INTERVIEW_CREATED)

    response = await api.post(f"/v1/events/{event}/redeliver", json={"endpoint_id": other["id"]})

    assert response.status_code == 202
    assert [d["endpoint_id"] for d in response.json()["deliveries"]] == [other["id"]]
    everyone = await api.post(f"/v1/events/{event}/redeliver")
    assert {d["endpoint_id"] for d in everyone.json()["deliveries"]} == {
        created_only["id"],
        other["id"],
    }, "every endpoint that wants the event or already has it"


async def test_redeliver_a_test_event_goes_back_to_its_endpoint(
    api: httpx.AsyncClient,
) -> None:
    target = await create(api)
    await create(api)
    test = (await api.post(f"/v1/webhook-endpoints/{target['id']}/test")).json()

    response = await api.post(f"/v1/events/{test['event_id']}/redeliver")

    assert [d["id"] for d in response.json()["deliveries"]] == [test["id"]]


async def test_redeliver_errors(api: httpx.AsyncClient, app: Any) -> None:
    disabled = await create(api, enabled=False)
    event = await record(app, await account_of(api), EventType.INTERVIEW_CREATED)

    assert_problem(await api.post("/v1/events/evt_nope/redeliver"), 404, "not-found")
    missing = await api.post(f"/v1/events/{event}/redeliver", json={"endpoint_id": "we_nope"})
    assert_problem(missing, 404, "not-found")
    off = await api.post(f"/v1/events/{event}/redeliver", json={"endpoint_id": disabled["id"]})
    assert_problem(off, 409, "conflict")
    extra = await api.post(f"/v1/events/{event}/redeliver", json={"endpoint": "x"})
    assert_problem(extra, 422, "validation-error")


# Tenancy and auth ---------------------------------------------------------------------


async def test_other_accounts_cannot_see_or_touch_endpoints(
    api: httpx.AsyncClient, new_account: NewAccount, app: Any
) -> None:
    mine = await create(api)
    event = await record(app, await account_of(api), EventType.INTERVIEW_CREATED)
    delivery_id = await _finish_one(app, event, status_code=500)
    other = await new_account("Other")
    their_event = await record(app, await account_of(other), EventType.INTERVIEW_CREATED)
    base = f"/v1/webhook-endpoints/{mine['id']}"

    assert (await other.get("/v1/webhook-endpoints")).json()["data"] == []
    for response in (
        await other.get(base),
        await other.patch(base, json={"description": "x"}),
        await other.delete(base),
        await other.post(f"{base}/rotate-secret"),
        await other.post(f"{base}/test"),
        await other.get(f"{base}/deliveries"),
        await other.get(f"/v1/webhook-deliveries/{delivery_id}"),
        await other.post(f"/v1/events/{event}/redeliver"),
        await other.post(f"/v1/events/{their_event}/redeliver", json={"endpoint_id": mine["id"]}),
    ):
        assert_problem(response, 404, "not-found")
    assert (await api.get(base)).json()["description"] is None


async def test_webhook_routes_need_a_key(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/v1/webhook-endpoints"),
        await client.post("/v1/webhook-endpoints", json={"url": HOOK}),
        await client.get("/v1/webhook-deliveries/dlv_x"),
        await client.post("/v1/events/evt_x/redeliver"),
    ):
        assert_problem(response, 401, "unauthorized")


async def test_create_is_idempotent_with_a_key(api: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "endpoint-1"}
    first = await api.post("/v1/webhook-endpoints", json={"url": HOOK}, headers=headers)
    again = await api.post("/v1/webhook-endpoints", json={"url": HOOK}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["secret"].startswith("whsec_")
    assert "secret-omitted" not in first.headers
    assert again.json() == {**first.json(), "secret": None}, "the replay never carries the secret"
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["secret-omitted"] == "true"
    assert len((await api.get("/v1/webhook-endpoints")).json()["data"]) == 1
