from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.api.deps import get_now
from tests.api.factories import create_candidate, create_interview
from tests.api.test_accounts import assert_problem
from tests.conftest import NewAccount


async def test_create_applies_defaults_and_returns_utc_z(api: httpx.AsyncClient) -> None:
    candidate = await create_candidate(api, timezone="America/New_York")
    interview = await create_interview(api, candidate["id"], starts_at="2026-11-02T09:00:00-05:00")
    assert interview["starts_at"] == "2026-11-02T14:00:00Z"
    assert interview["ends_at"] == "2026-11-02T15:00:00Z"
    assert interview["timezone"] == "America/New_York"
    assert interview["decision"] == "pending"
    assert interview["decided_at"] is None
    assert isinstance(interview["windows"], list)
    assert interview["created_at"].endswith("Z")


async def test_naive_datetime_is_rejected(api: httpx.AsyncClient) -> None:
    candidate = await create_candidate(api)
    response = await api.post(
        "/v1/interviews",
        json={
            "candidate_id": candidate["id"],
            "company": "Acme",
            "role_title": "Engineer",
            "starts_at": "2026-11-02T10:00:00",
        },
    )
    problem = assert_problem(response, 422, "validation-error")
    assert ["body", "starts_at"] in [error["loc"] for error in problem["errors"]]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "fields",
    [
        {"ends_at": "2026-11-02T09:00:00Z"},
        {"timezone": "Not/AZone"},
        {"format": "carrier_pigeon"},
        {"starts_at": "1969-12-31T23:59:59Z"},
        {"starts_at": "2100-01-01T00:00:01Z"},
        {"company": "c" * 201},
        {"notes": "n" * 50_001},
        {"unexpected": True},
    ],
)
async def test_invalid_interview_input_is_422(
    api: httpx.AsyncClient, fields: dict[str, object]
) -> None:
    candidate = await create_candidate(api)
    body = {
        "candidate_id": candidate["id"],
        "company": "Acme",
        "role_title": "Engineer",
        "starts_at": "2026-11-02T10:00:00Z",
        **fields,
    }
    assert_problem(await api.post("/v1/interviews", json=body), 422, "validation-error")
    assert (await api.get("/v1/interviews")).json()["data"] == []


async def test_unknown_candidate_is_422(api: httpx.AsyncClient, new_account: NewAccount) -> None:
    other = await new_account("Other")
    foreign = await create_candidate(other)
    response = await api.post(
        "/v1/interviews",
        json={
            "candidate_id": foreign["id"],
            "company": "Acme",
            "role_title": "Engineer",
            "starts_at": "2026-11-02T10:00:00Z",
        },
    )
    assert_problem(response, 422, "validation-error")


async def test_patch_that_puts_end_before_start_is_422_and_changes_nothing(
    api: httpx.AsyncClient,
) -> None:
    interview = await create_interview(api)
    response = await api.patch(
        f"/v1/interviews/{interview['id']}", json={"ends_at": "2026-11-01T10:00:00Z"}
    )
    assert_problem(response, 422, "validation-error")
    again = (await api.get(f"/v1/interviews/{interview['id']}")).json()
    assert again["ends_at"] == interview["ends_at"]


async def test_decision_stamps_and_clears_decided_at(api: httpx.AsyncClient) -> None:
    interview = await create_interview(api)
    url = f"/v1/interviews/{interview['id']}"
    decided = (await api.patch(url, json={"decision": "offer"})).json()
    assert decided["decision"] == "offer"
    assert decided["decided_at"] is not None and decided["decided_at"].endswith("Z")
    same = (await api.patch(url, json={"decision": "offer"})).json()
    assert same["decided_at"] == decided["decided_at"]
    reopened = (await api.patch(url, json={"decision": "pending"})).json()
    assert reopened["decided_at"] is None
    assert_problem(await api.patch(url, json={"decision": "maybe"}), 422, "validation-error")


async def test_list_filters(api: httpx.AsyncClient) -> None:
    alex = await create_candidate(api, name="Alex")
    first = await create_interview(api, alex["id"], external_id="req-1")
    second = await create_interview(api)
    await api.patch(f"/v1/interviews/{second['id']}", json={"decision": "rejected"})

    def ids(response: httpx.Response) -> list[str]:
        return [item["id"] for item in response.json()["data"]]

    assert ids(await api.get("/v1/interviews", params={"candidate_id": alex["id"]})) == [
        first["id"]
    ]
    assert ids(await api.get("/v1/interviews", params={"decision": "rejected"})) == [second["id"]]
    assert ids(await api.get("/v1/interviews", params={"external_id": "req-1"})) == [first["id"]]
    assert_problem(
        await api.get("/v1/interviews", params={"decision": "unknown"}), 422, "validation-error"
    )


async def test_deleting_candidate_deletes_interviews(api: httpx.AsyncClient) -> None:
    interview = await create_interview(api)
    await api.delete(f"/v1/candidates/{interview['candidate_id']}")
    assert_problem(await api.get(f"/v1/interviews/{interview['id']}"), 404, "not-found")


async def test_tenant_isolation_for_interviews(new_account: NewAccount) -> None:
    alice = await new_account("Alice")
    bob = await new_account("Bob")
    interview = await create_interview(alice)
    url = f"/v1/interviews/{interview['id']}"
    assert_problem(await bob.get(url), 404, "not-found")
    assert_problem(await bob.patch(url, json={"notes": "x"}), 404, "not-found")
    assert_problem(await bob.delete(url), 404, "not-found")
    assert_problem(await bob.get(f"{url}/contacts"), 404, "not-found")
    assert_problem(
        await bob.post(f"{url}/contacts", json={"name": "X", "role": "recruiter"}), 404, "not-found"
    )
    assert (await alice.get(url)).status_code == 200


# --- decided_at on PATCH (contract section 4, v2) ------------------------------------------

FROZEN = datetime(2030, 6, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen(app: FastAPI) -> Iterator[datetime]:
    """Every request's now is FROZEN."""
    app.dependency_overrides[get_now] = lambda: FROZEN
    yield FROZEN
    del app.dependency_overrides[get_now]


async def event_types(api: httpx.AsyncClient) -> list[str]:
    events = (await api.get("/v1/events", params={"limit": 200})).json()["data"]
    return [event["type"] for event in events]


async def test_a_decision_may_carry_its_own_decided_at(
    api: httpx.AsyncClient, frozen: datetime
) -> None:
    interview = await create_interview(api, starts_at="2030-05-01T09:00:00Z")
    url = f"/v1/interviews/{interview['id']}"
    response = await api.patch(
        url, json={"decision": "rejected", "decided_at": "2030-05-06T17:30:00+01:00"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["decided_at"] == "2030-05-06T16:30:00Z"
    assert (await api.get(url)).json()["decided_at"] == "2030-05-06T16:30:00Z"
    [decided] = (await api.get("/v1/events", params={"type": "interview.decided"})).json()["data"]
    assert decided["data"]["interview"]["decided_at"] == "2030-05-06T16:30:00Z"
    states = {w["kind"]: w["state"] for w in response.json()["windows"]}
    assert states == {
        "thank_you": "cancelled",
        "check_in": "cancelled",
        "brief_referees": "cancelled",
    }


async def test_without_decided_at_a_decision_is_dated_at_the_requests_now(
    api: httpx.AsyncClient, frozen: datetime
) -> None:
    interview = await create_interview(api, starts_at="2030-05-01T09:00:00Z")
    response = await api.patch(f"/v1/interviews/{interview['id']}", json={"decision": "offer"})
    assert response.json()["decided_at"] == "2030-06-03T12:00:00Z"


async def test_decided_at_may_be_up_to_five_minutes_ahead(
    api: httpx.AsyncClient, frozen: datetime
) -> None:
    interview = await create_interview(api, starts_at="2030-05-01T09:00:00Z")
    response = await api.patch(
        f"/v1/interviews/{interview['id']}",
        json={"decision": "hired", "decided_at": "2030-06-03T12:05:00Z"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["decided_at"] == "2030-06-03T12:05:00Z"


async def test_decided_at_may_be_the_interviews_start(
    api: httpx.AsyncClient, frozen: datetime
) -> None:
    interview = await create_interview(api, starts_at="2030-05-01T09:00:00Z")
    response = await api.patch(
        f"/v1/interviews/{interview['id']}",
        json={"decision": "withdrawn", "decided_at": "2030-05-01T09:00:00Z"},
    )
    assert response.json()["decided_at"] == "2030-05-01T09:00:00Z"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"decision": "offer", "decided_at": "2030-06-03T12:05:01Z"}, "future"),
        ({"decision": "offer", "decided_at": "2030-05-01T08:59:59Z"}, "starts_at"),
        (
            {
                "decision": "offer",
                "starts_at": "2030-05-20T09:00:00Z",
                "ends_at": "2030-05-20T10:00:00Z",
                "decided_at": "2030-05-10T09:00:00Z",
            },
            "starts_at",
        ),
        ({"decided_at": "2030-05-10T09:00:00Z"}, "together with decision"),
        ({"notes": "x", "decided_at": "2030-05-10T09:00:00Z"}, "together with decision"),
        ({"decision": "pending", "decided_at": "2030-05-10T09:00:00Z"}, "pending"),
        ({"decision": "offer", "decided_at": "2030-05-10T09:00:00"}, "timezone"),
    ],
)
async def test_a_bad_decided_at_is_422_with_its_loc_and_changes_nothing(
    api: httpx.AsyncClient, frozen: datetime, body: dict[str, Any], message: str
) -> None:
    interview = await create_interview(api, starts_at="2030-05-01T09:00:00Z")
    url = f"/v1/interviews/{interview['id']}"
    before = await event_types(api)
    problem = assert_problem(await api.patch(url, json=body), 422, "validation-error")
    errors = problem["errors"]
    assert isinstance(errors, list)
    assert ["body", "decided_at"] in [error["loc"] for error in errors]
    assert message in " ".join(error["msg"] for error in errors)
    assert (await api.get(url)).json() == interview
    assert await event_types(api) == before


async def test_a_null_decided_at_is_422(api: httpx.AsyncClient) -> None:
    interview = await create_interview(api)
    url = f"/v1/interviews/{interview['id']}"
    response = await api.patch(url, json={"decision": "offer", "decided_at": None})
    problem = assert_problem(response, 422, "validation-error")
    assert "decided_at" in str(problem["errors"])
    assert (await api.get(url)).json()["decision"] == "pending"


async def test_decided_at_with_the_same_decision_redates_it_as_an_update(
    api: httpx.AsyncClient, frozen: datetime
) -> None:
    interview = await create_interview(api, starts_at="2030-05-01T09:00:00Z")
    url = f"/v1/interviews/{interview['id']}"
    await api.patch(url, json={"decision": "rejected"})
    redated = await api.patch(
        url, json={"decision": "rejected", "decided_at": "2030-05-02T09:00:00Z"}
    )
    assert redated.json()["decided_at"] == "2030-05-02T09:00:00Z"
    assert sorted(await event_types(api)) == [
        "interview.created",
        "interview.decided",
        "interview.updated",
    ]
    same = await api.patch(url, json={"decision": "rejected", "decided_at": "2030-05-02T09:00:00Z"})
    assert same.json() == redated.json()
    assert len(await event_types(api)) == 3


async def test_rules_judge_attempts_by_the_back_dated_decision(
    api: httpx.AsyncClient, frozen: datetime
) -> None:
    interview = await create_interview(api, starts_at="2030-05-01T09:00:00Z")
    url = f"/v1/interviews/{interview['id']}"
    await api.patch(url, json={"decision": "rejected", "decided_at": "2030-05-10T09:00:00Z"})
    evaluate = f"{url}/contact-attempts/evaluate"
    social = {"channel": "social_connection", "platform": "linkedin"}
    before = await api.post(evaluate, json={**social, "occurred_at": "2030-05-10T08:59:59Z"})
    after = await api.post(evaluate, json={**social, "occurred_at": "2030-05-10T09:00:00Z"})
    assert before.json()["findings"][0]["severity"] == "block"
    assert after.json()["findings"][0]["severity"] == "warn"
