"""Every 201 carries `Location`: the path where the created resource is read."""

from __future__ import annotations

import httpx

from tests.api.factories import create_candidate, create_contact, create_interview
from tests.conftest import ADMIN_TOKEN


async def _created(api: httpx.AsyncClient, path: str, body: dict[str, object]) -> httpx.Response:
    response = await api.post(path, json=body)
    assert response.status_code == 201, response.text
    return response


async def test_created_resources_are_found_at_their_location(api: httpx.AsyncClient) -> None:
    candidate = await create_candidate(api)
    interview = await create_interview(api, candidate["id"])
    contact = await create_contact(api, interview["id"])
    iv = f"/v1/interviews/{interview['id']}"
    cases = [
        ("/v1/candidates", {"name": "Sam Lee"}),
        ("/v1/interviews", {**_interview_body(candidate["id"])}),
        (f"{iv}/contacts", {"name": "Morgan Lee", "role": "recruiter"}),
        (
            f"{iv}/contact-attempts",
            {"channel": "email", "contact_id": contact["id"], "direction": "inbound"},
        ),
        ("/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/hook"}),
    ]
    for path, body in cases:
        response = await _created(api, path, body)
        location = response.headers["location"]
        assert location == f"{path}/{response.json()['id']}"
        fetched = await api.get(location)
        assert fetched.status_code == 200, location
        assert fetched.json()["id"] == response.json()["id"]


async def test_an_api_key_location_is_its_path(api: httpx.AsyncClient) -> None:
    response = await _created(api, "/v1/api-keys", {"name": "sync"})
    assert response.headers["location"] == f"/v1/api-keys/{response.json()['id']}"
    assert (await api.delete(response.headers["location"])).status_code == 204


async def test_an_account_created_by_the_operator_is_read_at_v1_account(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/admin/accounts",
        json={"name": "Acme"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 201
    assert response.headers["location"] == "/v1/account"
    own = await client.get(
        response.headers["location"],
        headers={"Authorization": f"Bearer {response.json()['api_key']}"},
    )
    assert own.json()["id"] == response.json()["account_id"]


async def test_a_replayed_creation_carries_the_same_location(api: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "create-sam"}
    first = await api.post("/v1/candidates", json={"name": "Sam"}, headers=headers)
    again = await api.post("/v1/candidates", json={"name": "Sam"}, headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]


async def test_responses_other_than_201_carry_no_location(api: httpx.AsyncClient) -> None:
    refused = await api.post("/v1/candidates", json={"name": ""})
    assert refused.status_code == 422
    assert "location" not in refused.headers
    candidate = await create_candidate(api)
    updated = await api.patch(f"/v1/candidates/{candidate['id']}", json={"name": "J"})
    assert "location" not in updated.headers


def _interview_body(candidate_id: str) -> dict[str, object]:
    return {
        "candidate_id": candidate_id,
        "company": "Contoso",
        "role_title": "Analyst",
        "starts_at": "2026-11-02T10:00:00+00:00",
    }
