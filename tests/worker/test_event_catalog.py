"""The event catalog (contract section 8, v2): one entry per type with a schema and a
valid example, the same schemas in the OpenAPI `webhooks` section, and every body the
worker delivers valid against its type's schema."""

from __future__ import annotations

import json
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import utcnow
from app.enums import EventType
from app.services.windows import open_due_windows
from app.settings import Settings
from tests.api.factories import create_contact, create_interview
from tests.receiver import Receiver
from tests.worker.helpers import create_endpoint, dispatch


async def schemas_by_type(api: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    response = await api.get("/v1/event-types")
    assert response.status_code == 200, response.text
    return {entry["type"]: entry for entry in response.json()["data"]}


async def test_catalog_lists_every_type_with_a_schema_its_example_satisfies(
    api: httpx.AsyncClient,
) -> None:
    entries = await schemas_by_type(api)
    assert set(entries) == {event_type.value for event_type in EventType}
    for event_type, entry in entries.items():
        assert entry["description"]
        Draft202012Validator.check_schema(entry["schema"])
        Draft202012Validator(entry["schema"]).validate(entry["example"])
        assert entry["example"]["type"] == event_type
        wrong = {**entry["example"], "type": "something.else"}
        assert not Draft202012Validator(entry["schema"]).is_valid(wrong)


async def test_openapi_webhooks_declare_one_operation_per_type(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    assert set(document["webhooks"]) == {event_type.value for event_type in EventType}
    body = document["webhooks"]["followup.window_opened"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/FollowupWindowOpenedEvent"


async def test_every_delivered_body_validates_against_its_types_schema(
    api: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    hook = await create_endpoint(api, receiver.url())
    interview = await create_interview(api, starts_at="2020-05-01T09:00:00Z")
    contact = await create_contact(api, interview["id"], role="hiring_manager")
    attempts = f"/v1/interviews/{interview['id']}/contact-attempts"
    await api.post(attempts, json={"channel": "email", "contact_id": contact["id"]})
    refused = await api.post(
        attempts,
        json={"channel": "social_connection", "platform": "linkedin", "contact_id": contact["id"]},
    )
    assert refused.status_code == 422
    other = await create_interview(api, starts_at="2020-06-01T09:00:00Z")
    async with sessionmaker() as session, session.begin():
        assert await open_due_windows(session, utcnow()) >= 1, other["id"]
    await api.patch(f"/v1/interviews/{interview['id']}", json={"notes": "n", "decision": "offer"})
    await api.post(f"/v1/webhook-endpoints/{hook['id']}/test")
    await dispatch(sessionmaker, http, worker_settings)

    entries = await schemas_by_type(api)
    delivered = receiver.received()
    types = {json.loads(request.body)["type"] for request in delivered}
    assert {
        "interview.created",
        "interview.updated",
        "interview.decided",
        "contact_attempt.recorded",
        "contact_attempt.flagged",
        "contact_attempt.rejected",
        "followup.window_opened",
        "webhook.test",
    } <= types
    for request in delivered:
        body = json.loads(request.body)
        Draft202012Validator(entries[body["type"]]["schema"]).validate(body)
