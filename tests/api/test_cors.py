"""CORS with `FOLLOWUP_CORS_ORIGINS`: preflights pass, and browsers may read the
contract's response headers."""

from __future__ import annotations

import httpx
import pytest

from app.settings import Settings

ORIGIN = "https://app.example.com"
EXPOSED = {
    "idempotent-replayed",
    "retry-after",
    "location",
    "ratelimit",
    "ratelimit-policy",
    "secret-omitted",
    "x-request-id",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"cors_origins": (ORIGIN,)})


async def test_a_preflight_from_an_allowed_origin_passes(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/v1/candidates",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "idempotency-key" in allowed


async def test_responses_expose_the_contract_headers(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/candidates",
        json={"name": "Jordan Smith"},
        headers={"Origin": ORIGIN, "Idempotency-Key": "cors-1"},
    )

    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == ORIGIN
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert exposed == EXPOSED


async def test_another_origin_gets_no_cors_headers(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/account", headers={"Origin": "https://evil.example"})

    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
