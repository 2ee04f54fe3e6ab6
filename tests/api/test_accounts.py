from __future__ import annotations

import httpx
import pytest

from tests.api.factories import create_candidate, create_interview
from tests.conftest import ADMIN_TOKEN, NewAccount

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return dict(body)


async def test_admin_creates_account_with_working_key(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/admin/accounts",
        json={"name": "Globex"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 201
    created = response.json()
    assert set(created) == {"account_id", "api_key"}
    me = await client.get("/v1/account", headers={"Authorization": f"Bearer {created['api_key']}"})
    assert me.status_code == 200
    assert me.json()["id"] == created["account_id"]
    assert me.json()["name"] == "Globex"


@pytest.mark.parametrize("header", [None, "Bearer wrong-token", "Basic abc"])
async def test_admin_route_is_404_without_the_right_token(
    client: httpx.AsyncClient, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}
    response = await client.post("/admin/accounts", json={"name": "X"}, headers=headers)
    assert_problem(response, 404, "not-found")


async def test_admin_route_is_404_when_no_admin_token_is_configured(
    settings: object, database_url: str
) -> None:
    from app.main import create_app
    from app.settings import Settings

    app = create_app(Settings(_env_file=None, database_url=database_url))  # type: ignore[call-arg]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        response = await http.post(
            "/admin/accounts", json={"name": "X"}, headers={"Authorization": "Bearer "}
        )
    await app.state.engine.dispose()
    assert_problem(response, 404, "not-found")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer fu_not_a_key"}, {"Authorization": "Token abc"}],
)
async def test_missing_or_invalid_key_is_401_problem(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.get("/v1/candidates", headers=headers)
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_api_key_lifecycle_and_revocation_is_immediate(api: httpx.AsyncClient) -> None:
    created = await api.post("/v1/api-keys", json={"name": "ci"})
    assert created.status_code == 201
    key = created.json()
    assert key["name"] == "ci"
    assert key["api_key"].startswith(key["prefix"])
    listed = (await api.get("/v1/api-keys")).json()
    assert all("api_key" not in item for item in listed["data"])
    assert key["id"] in {item["id"] for item in listed["data"]}

    second = {"Authorization": f"Bearer {key['api_key']}"}
    assert (await api.get("/v1/account", headers=second)).status_code == 200
    assert (await api.delete(f"/v1/api-keys/{key['id']}")).status_code == 204
    assert_problem(await api.get("/v1/account", headers=second), 401, "unauthorized")
    assert_problem(await api.delete(f"/v1/api-keys/{key['id']}"), 404, "not-found")


async def test_api_key_of_another_account_cannot_be_revoked(new_account: NewAccount) -> None:
    alice = await new_account("Alice Co")
    bob = await new_account("Bob Co")
    key_id = (await alice.post("/v1/api-keys", json={})).json()["id"]
    assert_problem(await bob.delete(f"/v1/api-keys/{key_id}"), 404, "not-found")
    assert (await alice.delete(f"/v1/api-keys/{key_id}")).status_code == 204


LISTS_THAT_AUTHENTICATE_IN_THEIR_STATEMENT = (
    "/v1/interviews?limit=1",
    "/v1/followup-windows?limit=1",
    "/v1/followup-windows?state=pending&limit=1",
)
"""The lists read the caller and the page in one statement on PostgreSQL."""


@pytest.mark.parametrize("path", LISTS_THAT_AUTHENTICATE_IN_THEIR_STATEMENT)
async def test_lists_refuse_a_missing_unknown_or_revoked_key(
    api: httpx.AsyncClient, client: httpx.AsyncClient, path: str
) -> None:
    candidate = await create_candidate(api)
    await create_interview(api, candidate["id"])
    assert (await api.get(path)).json()["data"], "the account has something to list"
    key = (await api.post("/v1/api-keys", json={"name": "soon revoked"})).json()
    revoked = {"Authorization": f"Bearer {key['api_key']}"}
    assert (await client.get(path, headers=revoked)).json()["data"]
    assert (await api.delete(f"/v1/api-keys/{key['id']}")).status_code == 204
    for headers in ({}, {"Authorization": "Bearer fu_not_a_key"}, revoked):
        response = await client.get(path, headers=headers)
        body = assert_problem(response, 401, "unauthorized")
        assert "data" not in body


async def test_lists_page_through_the_callers_own_items_only(new_account: NewAccount) -> None:
    alice = await new_account("Alice Co")
    bob = await new_account("Bob Co")
    mine: set[str] = set()
    for owner in (alice, bob, alice, bob, alice):
        candidate = await create_candidate(owner)
        interview = await create_interview(owner, candidate["id"])
        if owner is alice:
            mine.add(interview["id"])
    for path, key in (("/v1/interviews", "id"), ("/v1/followup-windows", "interview_id")):
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
            body = (await alice.get(path + query)).json()
            assert len(body["data"]) <= 2
            seen += [item[key] for item in body["data"]]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert set(seen) == mine
        assert pages > 1
    empty = await new_account("Carol Co")
    for path in ("/v1/interviews", "/v1/followup-windows"):
        assert (await empty.get(path)).json() == {"data": [], "next_cursor": None}
