"""`created_after`, `created_before` and `updated_after` on the lists clients keep in sync.

Bounds are exclusive. Each test derives what a bound must select from the timestamps the
API returned, so it holds however close together the items were made.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.api.factories import create_candidate, create_interview
from tests.api.test_accounts import assert_problem

Item = dict[str, Any]


def at(item: Item, field: str = "created_at") -> datetime:
    return datetime.fromisoformat(item[field])


async def listed(api: httpx.AsyncClient, path: str, **params: str) -> list[str]:
    response = await api.get(path, params={"limit": "200", **params})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


def ids_where(items: list[Item], keep: Callable[[Item], bool]) -> set[str]:
    return {item["id"] for item in items if keep(item)}


async def three_candidates(api: httpx.AsyncClient) -> list[Item]:
    return [await create_candidate(api, name=name) for name in ("Ann", "Ben", "Cat")]


async def three_interviews(api: httpx.AsyncClient) -> list[Item]:
    candidate = await create_candidate(api)
    return [await create_interview(api, candidate["id"]) for _ in range(3)]


Maker = Callable[[httpx.AsyncClient], Awaitable[list[Item]]]
LISTS: list[tuple[str, Maker]] = [
    ("/v1/candidates", three_candidates),
    ("/v1/interviews", three_interviews),
]


@pytest.mark.parametrize(("path", "make"), LISTS)
async def test_created_after_and_before_are_exclusive_bounds(
    api: httpx.AsyncClient, path: str, make: Maker
) -> None:
    first, middle, last = await make(api)
    items = [first, middle, last]

    after = await listed(api, path, created_after=middle["created_at"])
    assert set(after) == ids_where(items, lambda i: at(i) > at(middle))
    assert middle["id"] not in after

    before = await listed(api, path, created_before=middle["created_at"])
    assert set(before) == ids_where(items, lambda i: at(i) < at(middle))
    assert middle["id"] not in before

    between = await listed(
        api, path, created_after=first["created_at"], created_before=last["created_at"]
    )
    assert set(between) == ids_where(items, lambda i: at(first) < at(i) < at(last))


@pytest.mark.parametrize(("path", "make"), LISTS)
async def test_updated_after_returns_what_changed_since(
    api: httpx.AsyncClient, path: str, make: Maker
) -> None:
    first, _, last = await make(api)
    changed = await api.patch(f"{path}/{first['id']}", json={"external_id": "changed-1"})
    assert changed.status_code == 200
    since = await listed(api, path, updated_after=last["updated_at"])
    assert first["id"] in since
    assert last["id"] not in since
    assert (await listed(api, path, updated_after=changed.json()["updated_at"])) == []


BOUNDS = [
    (path, name)
    for path in ("/v1/candidates", "/v1/interviews", "/v1/events", "contact-attempts")
    for name in ("created_after", "created_before", "updated_after")
    if (path, name) != ("/v1/events", "updated_after")  # events never change
]


@pytest.mark.parametrize(("path", "name"), BOUNDS)
async def test_a_bound_without_an_offset_is_422(
    api: httpx.AsyncClient, path: str, name: str
) -> None:
    if path == "contact-attempts":
        path = f"/v1/interviews/{(await create_interview(api))['id']}/contact-attempts"
    problem = assert_problem(
        await api.get(path, params={name: "2026-11-02T10:00:00"}), 422, "validation-error"
    )
    assert ["query", name] in [error["loc"] for error in problem["errors"]]  # type: ignore[union-attr]


async def test_bounds_with_an_offset_other_than_utc_are_understood(api: httpx.AsyncClient) -> None:
    candidate = await create_candidate(api)
    created = at(candidate)
    in_new_york = created.astimezone(timezone(timedelta(hours=-5))).isoformat()
    assert candidate["id"] not in await listed(api, "/v1/candidates", created_after=in_new_york)
    assert candidate["id"] not in await listed(api, "/v1/candidates", created_before=in_new_york)


async def test_contact_attempts_filter_by_when_they_were_recorded(api: httpx.AsyncClient) -> None:
    interview = await create_interview(api)
    path = f"/v1/interviews/{interview['id']}/contact-attempts"
    attempts = []
    for _ in range(3):
        response = await api.post(path, json={"channel": "email", "direction": "inbound"})
        assert response.status_code == 201, response.text
        attempts.append(response.json())
    first, middle, _ = attempts

    after = await listed(api, path, created_after=middle["created_at"])
    assert set(after) == ids_where(attempts, lambda i: at(i) > at(middle))
    before = await listed(api, path, created_before=middle["created_at"])
    assert set(before) == ids_where(attempts, lambda i: at(i) < at(middle))
    # An attempt never changes once recorded: its last change is its creation.
    since = await listed(api, path, updated_after=first["created_at"])
    assert set(since) == ids_where(attempts, lambda i: at(i) > at(first))


async def test_events_filter_by_creation_time(api: httpx.AsyncClient) -> None:
    candidate = await create_candidate(api)
    for _ in range(3):
        await create_interview(api, candidate["id"])
    events = (await api.get("/v1/events", params={"limit": "200"})).json()["data"]
    assert len(events) == 3
    _, middle, _ = sorted(events, key=at)

    after = await listed(api, "/v1/events", created_after=middle["created_at"])
    assert set(after) == ids_where(events, lambda e: at(e) > at(middle))
    before = await listed(api, "/v1/events", created_before=middle["created_at"])
    assert set(before) == ids_where(events, lambda e: at(e) < at(middle))
    assert middle["id"] not in after + before


async def test_filters_combine_with_paging(api: httpx.AsyncClient) -> None:
    items = [await create_candidate(api, name=f"C{n}") for n in range(5)]
    bound = items[0]["created_at"]
    expected = ids_where(items, lambda i: at(i) > at(items[0]))
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"created_after": bound, "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/candidates", params=params)).json()
        seen += [item["id"] for item in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(expected)
