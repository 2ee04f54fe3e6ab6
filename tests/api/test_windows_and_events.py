"""Contract sections 4, 7 and 8 through the API: windows, their transitions, events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.api.factories import create_contact, create_interview
from tests.api.test_accounts import assert_problem
from tests.conftest import NewAccount


def by_kind(interview: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {w["kind"]: w for w in interview["windows"]}


async def test_interview_has_three_pending_windows_on_time(api: httpx.AsyncClient) -> None:
    interview = await create_interview(
        api, starts_at="2099-03-01T09:00:00Z", decision_expected_at="2099-03-05T12:00:00Z"
    )
    windows = by_kind(interview)
    assert set(windows) == {"thank_you", "check_in", "brief_referees"}
    assert windows["thank_you"]["opens_at"] == "2099-03-02T10:00:00Z"
    assert windows["check_in"]["opens_at"] == "2099-03-05T12:00:00Z"
    assert windows["brief_referees"]["opens_at"] == "2099-03-05T12:00:00Z"
    assert {w["state"] for w in windows.values()} == {"pending"}
    listed = (await api.get(f"/v1/interviews/{interview['id']}/windows")).json()["data"]
    assert [w["opens_at"] for w in listed] == sorted(w["opens_at"] for w in listed)
    assert {w["id"] for w in listed} == {w["id"] for w in windows.values()}


async def test_patch_reschedules_pending_windows_and_emits_updated(api: httpx.AsyncClient) -> None:
    interview = await create_interview(api, starts_at="2099-03-01T09:00:00Z")
    url = f"/v1/interviews/{interview['id']}"
    patched = (await api.patch(url, json={"ends_at": "2099-03-01T12:00:00Z"})).json()
    assert by_kind(patched)["thank_you"]["opens_at"] == "2099-03-02T12:00:00Z"
    assert by_kind(patched)["check_in"]["opens_at"] == "2099-03-08T12:00:00Z"
    events = (await api.get("/v1/events")).json()["data"]
    assert [e["type"] for e in events] == ["interview.updated", "interview.created"]
    assert events[0]["data"]["interview"] == patched


async def test_decision_cancels_pending_windows_and_emits_both_events(
    api: httpx.AsyncClient,
) -> None:
    interview = await create_interview(api, starts_at="2099-03-01T09:00:00Z")
    url = f"/v1/interviews/{interview['id']}"
    patched = (await api.patch(url, json={"decision": "rejected", "notes": "No luck"})).json()
    assert {w["state"] for w in patched["windows"]} == {"cancelled"}
    types = [e["type"] for e in (await api.get("/v1/events")).json()["data"]]
    assert sorted(types) == ["interview.created", "interview.decided", "interview.updated"]
    decided = (await api.get("/v1/events", params={"type": "interview.decided"})).json()["data"]
    assert decided[0]["data"]["interview"]["decision"] == "rejected"


async def test_patch_without_change_emits_nothing(api: httpx.AsyncClient) -> None:
    interview = await create_interview(api, company="Northwind Traders")
    await api.patch(f"/v1/interviews/{interview['id']}", json={"company": "Northwind Traders"})
    types = [e["type"] for e in (await api.get("/v1/events")).json()["data"]]
    assert types == ["interview.created"]


async def test_attempts_complete_windows(api: httpx.AsyncClient) -> None:
    starts = datetime.now(UTC) - timedelta(days=10)
    interview = await create_interview(api, starts_at=starts.isoformat())
    url = f"/v1/interviews/{interview['id']}/contact-attempts"
    referee = await create_contact(api, interview["id"], name="Riley Park", role="referee")
    email_at = starts + timedelta(hours=30)
    await api.post(url, json={"channel": "email", "occurred_at": email_at.isoformat()})
    await api.post(
        url,
        json={
            "channel": "phone_call",
            "contact_id": referee["id"],
            "occurred_at": (starts + timedelta(days=2)).isoformat(),
        },
    )
    windows = by_kind((await api.get(f"/v1/interviews/{interview['id']}")).json())
    assert windows["thank_you"]["state"] == "completed"
    assert windows["brief_referees"]["state"] == "completed"
    assert windows["check_in"]["state"] == "pending"


async def test_inbound_attempt_cancels_pending_check_in(api: httpx.AsyncClient) -> None:
    interview = await create_interview(api, starts_at=datetime.now(UTC).isoformat())
    url = f"/v1/interviews/{interview['id']}/contact-attempts"
    response = await api.post(url, json={"channel": "phone_call", "direction": "inbound"})
    assert response.status_code == 201
    windows = by_kind((await api.get(f"/v1/interviews/{interview['id']}")).json())
    assert windows["check_in"]["state"] == "cancelled"
    assert windows["thank_you"]["state"] == "pending"


async def test_account_window_listing_filters_and_orders(
    api: httpx.AsyncClient, new_account: NewAccount
) -> None:
    early = await create_interview(api, starts_at="2099-01-01T09:00:00Z")
    late = await create_interview(api, starts_at="2099-06-01T09:00:00Z")
    await create_interview(await new_account("Other"), starts_at="2099-01-01T09:00:00Z")
    listed = (await api.get("/v1/followup-windows", params={"kind": "thank_you"})).json()["data"]
    assert [w["interview_id"] for w in listed] == [early["id"], late["id"]]
    before = (
        await api.get("/v1/followup-windows", params={"opens_before": "2099-03-01T00:00:00Z"})
    ).json()["data"]
    assert {w["interview_id"] for w in before} == {early["id"]}
    assert len(before) == 3
    after = (
        await api.get("/v1/followup-windows", params={"opens_after": "2099-03-01T00:00:00Z"})
    ).json()["data"]
    assert {w["interview_id"] for w in after} == {late["id"]}
    pending = (await api.get("/v1/followup-windows", params={"state": "pending"})).json()["data"]
    assert len(pending) == 6
    assert_problem(
        await api.get("/v1/followup-windows", params={"state": "ajar"}), 422, "validation-error"
    )
    assert_problem(
        await api.get("/v1/followup-windows", params={"opens_before": "2099-03-01T00:00:00"}),
        422,
        "validation-error",
    )


async def test_event_lookup_and_isolation(api: httpx.AsyncClient, new_account: NewAccount) -> None:
    await create_interview(api)
    event = (await api.get("/v1/events")).json()["data"][0]
    assert event["type"] == "interview.created"
    assert event["created_at"].endswith("Z")
    assert (await api.get(f"/v1/events/{event['id']}")).json() == event
    other = await new_account("Other")
    assert_problem(await other.get(f"/v1/events/{event['id']}"), 404, "not-found")
    assert (await other.get("/v1/events")).json()["data"] == []
    assert_problem(
        await api.get("/v1/events", params={"type": "interview.exploded"}), 422, "validation-error"
    )
