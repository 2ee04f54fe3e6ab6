from __future__ import annotations

import httpx
import pytest

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
