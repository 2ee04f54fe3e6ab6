"""`POST /v1/webhook-endpoints/{id}/test` with an `event_type` (contract §8 v2): the
catalog's example of that type, delivered for real to that endpoint alone."""

from __future__ import annotations

import json

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from app.enums import EventType
from app.schemas.events import EVENT_EXAMPLES
from app.settings import Settings
from tests.api.test_accounts import assert_problem
from tests.receiver import Receiver
from tests.worker.helpers import create_endpoint, dispatch

Sessions = async_sessionmaker[AsyncSession]


async def test_an_event_type_sends_the_catalogs_example_to_that_endpoint_alone(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    target = await create_endpoint(api, receiver.url("/target"))
    await create_endpoint(api, receiver.url("/bystander"))

    response = await api.post(
        f"/v1/webhook-endpoints/{target['id']}/test", json={"event_type": "interview.decided"}
    )
    assert response.status_code == 202, response.text
    outcomes = await dispatch(sessionmaker, http, worker_settings)

    assert [o.status.value for o in outcomes if o] == ["succeeded"]
    [request] = receiver.received()
    assert request.path == "/target"
    body = Webhook(target["secret"]).verify(request.body, request.headers)
    assert body["type"] == "interview.decided"
    assert body["id"] == request.webhook_id == response.json()["event_id"]
    expected = EVENT_EXAMPLES[EventType.INTERVIEW_DECIDED].model_dump(mode="json")
    assert body["data"] == json.loads(json.dumps(expected))


async def test_an_example_stays_out_of_the_event_list_and_redelivers_only_to_its_endpoint(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    target = await create_endpoint(api, receiver.url("/target"))
    await create_endpoint(api, receiver.url("/bystander"))
    sent = await api.post(
        f"/v1/webhook-endpoints/{target['id']}/test",
        json={"event_type": "followup.window_opened"},
    )
    event_id = sent.json()["event_id"]

    listed = (await api.get("/v1/events")).json()["data"]
    redelivered = await api.post(f"/v1/events/{event_id}/redeliver")
    await dispatch(sessionmaker, http, worker_settings)

    assert listed == []
    assert [d["endpoint_id"] for d in redelivered.json()["deliveries"]] == [target["id"]]
    assert {r.path for r in receiver.received()} == {"/target"}
    assert (await api.get(f"/v1/events/{event_id}")).json()["type"] == "followup.window_opened"


async def test_without_a_body_the_test_is_still_webhook_test(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    target = await create_endpoint(api, receiver.url())

    response = await api.post(f"/v1/webhook-endpoints/{target['id']}/test")
    await dispatch(sessionmaker, http, worker_settings)

    assert response.status_code == 202
    [request] = receiver.received()
    body = Webhook(target["secret"]).verify(request.body, request.headers)
    assert body["type"] == "webhook.test"
    assert body["data"]["endpoint_id"] == target["id"]


async def test_an_unknown_event_type_is_a_validation_error(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    target = await create_endpoint(api, receiver.url())

    response = await api.post(
        f"/v1/webhook-endpoints/{target['id']}/test", json={"event_type": "interview.exploded"}
    )

    body = assert_problem(response, 422, "validation-error")
    assert body["errors"][0]["loc"] == ["body", "event_type"]  # type: ignore[index]
    assert receiver.received() == []
