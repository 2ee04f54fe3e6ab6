from __future__ import annotations

import httpx
import pytest

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
