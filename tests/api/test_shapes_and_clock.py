"""One shape per resource (an event's payload is what `GET` returns) and one clock per
request (every timestamp a request writes comes from the `get_now` dependency)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.deps import get_now
from app.clock import format_utc
from app.db.models import (
    ContactAttempt,
    Event,
    FollowupWindow,
    Interview,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.schemas.events import EVENT_DATA, EVENT_EXAMPLES, encode_envelope
from app.services.windows import open_due_windows
from tests.api.factories import create_contact, create_interview


async def events_of(api: httpx.AsyncClient, event_type: str) -> list[dict[str, Any]]:
    response = await api.get("/v1/events", params={"type": event_type})
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def test_interview_event_payload_is_the_interview_as_get_returns_it(
    api: httpx.AsyncClient,
) -> None:
    interview = await create_interview(api, starts_at="2099-03-01T09:00:00Z")
    [created] = await events_of(api, "interview.created")
    fetched = (await api.get(f"/v1/interviews/{interview['id']}")).json()
    assert created["data"] == {"interview": fetched}
    patched = await api.patch(f"/v1/interviews/{interview['id']}", json={"decision": "offer"})
    [decided] = await events_of(api, "interview.decided")
    assert decided["data"]["interview"] == patched.json()
    assert (
        decided["data"]["interview"] == (await api.get(f"/v1/interviews/{interview['id']}")).json()
    )


async def test_attempt_event_payload_is_the_attempt_as_get_returns_it(
    api: httpx.AsyncClient,
) -> None:
    interview = await create_interview(api, starts_at="2020-03-01T09:00:00Z")
    contact = await create_contact(api, interview["id"], role="recruiter")
    recorded = await api.post(
        f"/v1/interviews/{interview['id']}/contact-attempts",
        json={"channel": "phone_call", "contact_id": contact["id"], "direction": "inbound"},
    )
    assert recorded.status_code == 201, recorded.text
    url = f"/v1/interviews/{interview['id']}/contact-attempts/{recorded.json()['id']}"
    fetched = (await api.get(url)).json()
    [event] = await events_of(api, "contact_attempt.recorded")
    assert event["data"]["attempt"] == fetched == recorded.json()
    assert event["data"]["findings"] == fetched["findings"]


async def test_window_opened_payload_shows_window_interview_and_contacts_as_get_does(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    interview = await create_interview(api, starts_at="2099-03-01T09:00:00Z")
    await create_contact(api, interview["id"], role="hiring_manager")
    factory: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    async with factory() as session, session.begin():
        opened = await open_due_windows(session, datetime(2099, 3, 2, 11, tzinfo=UTC))
    assert opened == 1
    [event] = await events_of(api, "followup.window_opened")
    windows = (await api.get(f"/v1/interviews/{interview['id']}/windows")).json()["data"]
    [thank_you] = [w for w in windows if w["kind"] == "thank_you"]
    contacts = (await api.get(f"/v1/interviews/{interview['id']}/contacts")).json()["data"]
    assert event["data"]["window"] == thank_you
    assert event["data"]["interview"] == (await api.get(f"/v1/interviews/{interview['id']}")).json()
    assert event["data"]["contacts"] == contacts


def test_every_event_type_has_a_payload_shape_and_a_valid_example() -> None:
    for event_type, shape in EVENT_DATA.items():
        example = EVENT_EXAMPLES[event_type]
        assert isinstance(example, shape), event_type
        body = encode_envelope("evt_1", event_type.value, datetime(2026, 1, 1, tzinfo=UTC), {})
        assert body.startswith(b'{"id":"evt_1","type":"' + event_type.value.encode())


FROZEN = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


async def test_every_timestamp_a_request_writes_comes_from_the_frozen_clock(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    interview = await create_interview(api, starts_at="2031-05-01T09:00:00Z")
    contact = await create_contact(api, interview["id"], role="recruiter")
    endpoint = await api.post("/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hook"})
    assert endpoint.status_code == 201, endpoint.text
    app.dependency_overrides[get_now] = lambda: FROZEN
    try:
        patched = await api.patch(
            f"/v1/interviews/{interview['id']}",
            json={"notes": "panel of three", "decision": "offer"},
        )
        assert patched.status_code == 200, patched.text
        recorded = await api.post(
            f"/v1/interviews/{interview['id']}/contact-attempts",
            json={
                "channel": "email",
                "contact_id": contact["id"],
                "subject": "Thank you",
                "body": "Dear Pat,\n\nThank you for your time.\n\nBest regards,\nSam",
            },
        )
        assert recorded.status_code == 201, recorded.text
        rotated = await api.post(f"/v1/webhook-endpoints/{endpoint.json()['id']}/rotate-secret")
        assert rotated.status_code == 200, rotated.text
    finally:
        del app.dependency_overrides[get_now]

    stamp = format_utc(FROZEN)
    assert patched.json()["updated_at"] == stamp
    assert patched.json()["decided_at"] == stamp
    assert recorded.json()["created_at"] == stamp
    assert recorded.json()["occurred_at"] == stamp, "occurred_at defaults to the request's now"
    assert rotated.json()["previous_secret_expires_at"] == format_utc(FROZEN + timedelta(hours=24))
    assert rotated.json()["updated_at"] == stamp

    factory: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    async with factory() as session:
        events = (await session.scalars(select(Event).where(Event.created_at >= FROZEN))).all()
        assert {e.type for e in events} == {
            "interview.updated",
            "interview.decided",
            "contact_attempt.recorded",
        }
        assert {e.created_at for e in events} == {FROZEN}
        deliveries = (
            await session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.event_id.in_([e.id for e in events]))
            )
        ).all()
        assert len(deliveries) == 3
        for delivery in deliveries:
            assert delivery.created_at == delivery.updated_at == delivery.next_attempt_at == FROZEN
        attempt = await session.get(ContactAttempt, recorded.json()["id"])
        assert attempt is not None and attempt.created_at == FROZEN
        row = await session.get(Interview, interview["id"])
        assert row is not None and row.updated_at == row.decided_at == FROZEN
        windows = (
            await session.scalars(
                select(FollowupWindow).where(FollowupWindow.interview_id == interview["id"])
            )
        ).all()
        changed = [w for w in windows if w.state != "pending"]
        assert changed, "the decision and the email moved windows"
        assert {w.state_changed_at for w in changed} == {FROZEN}
        hook = await session.get(WebhookEndpoint, endpoint.json()["id"])
        assert hook is not None and hook.updated_at == FROZEN


async def test_lists_written_from_rows_show_each_item_as_get_does(
    api: httpx.AsyncClient,
) -> None:
    """The interview and window lists skip the models (`app.api.responses`): each item
    must still be exactly what `GET` (built from the Read models) returns, timestamps
    with and without microseconds included."""
    whole = await create_interview(api, starts_at="2099-03-01T09:00:00Z")
    fraction = await create_interview(api, starts_at="2099-04-01T09:00:00.250000+02:00")
    await api.patch(f"/v1/interviews/{fraction['id']}", json={"decision": "offer"})
    listed = (await api.get("/v1/interviews")).json()["data"]
    assert [item["id"] for item in listed] == [fraction["id"], whole["id"]]
    for item in listed:
        fetched = (await api.get(f"/v1/interviews/{item['id']}")).json()
        assert item == fetched
        assert fetched["starts_at"].endswith("Z")
        windows = (await api.get(f"/v1/interviews/{item['id']}/windows")).json()["data"]
        # The list's order breaks ties in opens_at by id; the interview's, by kind.
        assert sorted(windows, key=by_id) == sorted(fetched["windows"], key=by_id)
    assert listed[0]["starts_at"] == "2099-04-01T07:00:00.250000Z"
    everywhere = (await api.get("/v1/followup-windows", params={"limit": 200})).json()["data"]
    assert sorted(everywhere, key=by_id) == sorted(
        (w for item in listed for w in item["windows"]), key=by_id
    )


def by_id(item: dict[str, Any]) -> str:
    return str(item["id"])
