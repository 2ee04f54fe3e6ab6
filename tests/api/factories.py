"""Small helpers that create resources through the public API."""

from __future__ import annotations

from typing import Any

import httpx


async def create_candidate(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "Jordan Smith", "timezone": "Europe/London", **fields}
    response = await api.post("/v1/candidates", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def create_interview(
    api: httpx.AsyncClient, candidate_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    if candidate_id is None:
        candidate_id = (await create_candidate(api))["id"]
    body = {
        "candidate_id": candidate_id,
        "company": "Northwind Traders",
        "role_title": "Data Analyst",
        "starts_at": "2026-11-02T10:00:00+00:00",
        **fields,
    }
    response = await api.post("/v1/interviews", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def create_contact(
    api: httpx.AsyncClient, interview_id: str, **fields: Any
) -> dict[str, Any]:
    body = {"name": "Morgan Lee", "role": "hiring_manager", **fields}
    response = await api.post(f"/v1/interviews/{interview_id}/contacts", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())
