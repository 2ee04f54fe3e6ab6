"""Contract section 1: idempotency, body limits, ops endpoints, the OpenAPI document."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.api.test_accounts import assert_problem

ROOT = Path(__file__).resolve().parents[2]


async def test_same_key_same_body_replays_first_response(api: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "create-jordan"}
    first = await api.post("/v1/candidates", json={"name": "Jordan"}, headers=headers)
    second = await api.post("/v1/candidates", json={"name": "Jordan"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len((await api.get("/v1/candidates")).json()["data"]) == 1


async def test_same_key_different_body_is_422_reuse(api: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "k1"}
    await api.post("/v1/candidates", json={"name": "Jordan"}, headers=headers)
    reuse = await api.post("/v1/candidates", json={"name": "Someone else"}, headers=headers)
    assert_problem(reuse, 422, "idempotency-key-reuse")
    assert len((await api.get("/v1/candidates")).json()["data"]) == 1


async def test_idempotency_keys_are_per_account(new_account: object) -> None:
    make = new_account  # type: ignore[assignment]
    alice = await make("Alice")  # type: ignore[operator]
    bob = await make("Bob")  # type: ignore[operator]
    headers = {"Idempotency-Key": "same"}
    a = await alice.post("/v1/candidates", json={"name": "A"}, headers=headers)
    b = await bob.post("/v1/candidates", json={"name": "B"}, headers=headers)
    assert a.status_code == b.status_code == 201
    assert "idempotent-replayed" not in b.headers
    assert a.json()["id"] != b.json()["id"]


async def test_failed_validation_is_replayed_too(api: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "bad"}
    first = await api.post("/v1/candidates", json={"name": ""}, headers=headers)
    second = await api.post("/v1/candidates", json={"name": ""}, headers=headers)
    assert first.status_code == second.status_code == 422
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["content-type"].startswith("application/problem+json")


async def test_overlong_idempotency_key_is_422(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/candidates", json={"name": "J"}, headers={"Idempotency-Key": "k" * 256}
    )
    assert_problem(response, 422, "validation-error")


async def test_body_over_one_mebibyte_is_413(api: httpx.AsyncClient) -> None:
    big = json.dumps({"name": "J", "padding": "x" * (1024 * 1024)})
    response = await api.post(
        "/v1/candidates", content=big, headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload-too-large")


async def test_chunked_body_over_limit_is_413(api: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 65536

    response = await api.post(
        "/v1/candidates", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload-too-large")


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200


async def test_readyz_is_503_when_database_is_unreachable() -> None:
    # Nothing listens on port 1: the connection is refused at once.
    url = "postgresql+asyncpg://postgres@127.0.0.1:1/followup"
    app = create_app(Settings(_env_file=None, database_url=url))  # type: ignore[call-arg]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        response = await http.get("/readyz")
    await app.state.engine.dispose()
    assert_problem(response, 503, "service-unavailable")
    assert "127.0.0.1" not in response.text


async def test_readyz_is_503_when_migrations_are_behind(tmp_path: Path) -> None:
    app = create_app(
        Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path}/empty.db")
    )  # type: ignore[call-arg]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        response = await http.get("/readyz")
    await app.state.engine.dispose()
    assert response.status_code == 503


async def test_metrics_exposes_request_counts(
    api: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    await api.get("/v1/candidates")
    text = (await client.get("/metrics")).text
    assert 'followup_http_requests_total{method="GET",route="/v1/candidates",status="200"}' in text


async def test_unknown_route_is_404_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/v1/nope"), 404, "not-found")


async def test_committed_openapi_matches_the_served_document(client: httpx.AsyncClient) -> None:
    served = (await client.get("/openapi.json")).json()
    committed = json.loads((ROOT / "openapi" / "openapi.json").read_text())
    assert served == committed
    assert served["openapi"].startswith("3.1")


async def test_concurrent_requests_with_one_key_create_one_resource(api: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "race"}
    responses = await asyncio.gather(
        *(api.post("/v1/candidates", json={"name": "R"}, headers=headers) for _ in range(5))
    )
    assert [r.status_code for r in responses] == [201] * 5, "duplicates wait, then replay"
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 4
    assert len((await api.get("/v1/candidates")).json()["data"]) == 1


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "/v1/candidates", {"name": "Jo\u0000rdan"}),
        ("GET", "/v1/candidates?external_id=a%00b", None),
        ("GET", "/v1/candidates/cand%00x", None),
    ],
)
async def test_nul_characters_are_422_on_every_database(
    api: httpx.AsyncClient, method: str, url: str, body: object
) -> None:
    response = await api.request(method, url, json=body)
    assert_problem(response, 422, "validation-error")
    assert (await api.get("/v1/candidates")).json()["data"] == []
