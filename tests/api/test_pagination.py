from __future__ import annotations

import httpx
import pytest

from tests.api.factories import create_candidate
from tests.api.test_accounts import assert_problem


@pytest.mark.parametrize("limit", [1, 3, 7, 200])
async def test_paging_visits_every_item_exactly_once_newest_first(
    api: httpx.AsyncClient, limit: int
) -> None:
    made = [(await create_candidate(api, name=f"Candidate {i}"))["id"] for i in range(13)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        body = (await api.get("/v1/candidates", params=params)).json()
        assert len(body["data"]) <= limit
        seen.extend(item["id"] for item in body["data"])
        cursor = body["next_cursor"]
        pages += 1
        if cursor is None:
            break
    assert sorted(seen) == sorted(made)
    assert len(seen) == len(set(seen))
    assert seen == list(reversed(made))
    assert pages == -(-len(made) // limit)


async def test_default_limit_is_50(api: httpx.AsyncClient) -> None:
    for i in range(51):
        await create_candidate(api, name=f"C{i}")
    body = (await api.get("/v1/candidates")).json()
    assert len(body["data"]) == 50
    assert body["next_cursor"] is not None


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"limit": "x"}, {"cursor": "!!"}])
async def test_bad_paging_parameters_are_422(
    api: httpx.AsyncClient, params: dict[str, object]
) -> None:
    assert_problem(await api.get("/v1/candidates", params=params), 422, "validation-error")
