"""Contract section 1 (v2): while the database is down the API still answers every
request, with 503 `service-unavailable` and `Retry-After`, and recovers by itself.

These tests run a private PostgreSQL cluster (tests/pgcluster.py) that they stop and
restart, and a real uvicorn server on a free port, so that connection handling
(keep-alive, `Connection: close`) is what a client would see.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from app.db.migrate import upgrade_head
from app.main import create_app
from app.settings import Settings
from tests.conftest import ADMIN_TOKEN, SECRET_KEY
from tests.pgcluster import PrivateCluster, free_port, unavailable_reason

PROBLEM = "application/problem+json"


@pytest.fixture
def private_postgres() -> Iterator[PrivateCluster]:
    """A migrated, running private cluster, removed after the test."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    cluster = PrivateCluster()
    try:
        cluster.start()
        upgrade_head(cluster.url)
        yield cluster
    finally:
        cluster.destroy()


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """The app behind a real uvicorn server on 127.0.0.1; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def api_against(cluster: PrivateCluster) -> AsyncIterator[httpx.AsyncClient]:
    """A keep-alive client, authenticated as a fresh account, of a served app."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=cluster.url,
        admin_token=ADMIN_TOKEN,  # type: ignore[arg-type]
        secret_key=SECRET_KEY,  # type: ignore[arg-type]
    )
    async with serving(create_app(settings)) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as admin:
            created = await admin.post(
                "/admin/accounts",
                json={"name": "Outage"},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            )
        assert created.status_code == 201, created.text
        auth = {"Authorization": f"Bearer {created.json()['api_key']}"}
        async with httpx.AsyncClient(base_url=base_url, headers=auth, timeout=30) as client:
            yield client


OUTAGE_CALLS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/candidates", None),
    ("POST", "/v1/candidates", {"name": "During the outage"}),
    ("GET", "/v1/account", None),
    (
        "POST",
        "/v1/interviews",
        {
            "candidate_id": "c",
            "company": "A",
            "role_title": "B",
            "starts_at": "2026-01-05T10:00:00Z",
        },
    ),
    ("GET", "/v1/events", None),
]


def client_port(response: httpx.Response) -> int:
    """The local port of the connection that carried `response`."""
    stream = response.extensions["network_stream"]
    return int(stream.get_extra_info("client_addr")[1])


async def test_every_request_gets_an_answer_while_the_database_is_down(
    private_postgres: PrivateCluster,
) -> None:
    async with api_against(private_postgres) as api:
        kept = await api.post("/v1/candidates", json={"name": "Before the outage"})
        assert kept.status_code == 201

        private_postgres.stop()
        for method, path, body in OUTAGE_CALLS:
            response = await api.request(method, path, json=body)
            assert response.status_code >= 500, (method, path, response.text)
            assert response.headers["content-type"].startswith(PROBLEM)
            assert "Traceback" not in response.text
        ready = await api.get("/readyz")
        assert ready.status_code == 503

        private_postgres.start()
        assert (await api.get("/readyz")).status_code == 200
        listed = await api.get("/v1/candidates")
        assert listed.status_code == 200
        assert [c["name"] for c in listed.json()["data"]] == ["Before the outage"]
        after = await api.post("/v1/candidates", json={"name": "After the outage"})
        assert after.status_code == 201


async def test_outage_answers_are_503_problems_on_a_usable_connection(
    private_postgres: PrivateCluster,
) -> None:
    async with api_against(private_postgres) as api:
        assert (await api.get("/v1/account")).status_code == 200
        private_postgres.stop()

        previous: httpx.Response | None = None
        for method, path, body in [*OUTAGE_CALLS, *OUTAGE_CALLS]:
            response = await api.request(method, path, json=body)
            if previous is not None and previous.headers.get("connection") != "close":
                assert client_port(response) == client_port(previous), "connection dropped"
            assert response.status_code == 503, (method, path, response.text)
            assert response.headers["content-type"].startswith(PROBLEM)
            problem = response.json()
            assert problem["type"] == "/problems/service-unavailable"
            assert problem["status"] == 503
            assert problem["title"] and problem["detail"]
            retry_after = response.headers["retry-after"]
            assert retry_after.isdigit() and int(retry_after) >= 1
            previous = response

        private_postgres.start()
        assert (await api.get("/v1/account")).status_code == 200
        created = await api.post("/v1/candidates", json={"name": "After the outage"})
        assert created.status_code == 201


async def test_readyz_is_a_503_problem_while_the_database_is_down(
    private_postgres: PrivateCluster,
) -> None:
    async with api_against(private_postgres) as api:
        assert (await api.get("/readyz")).status_code == 200
        private_postgres.stop()
        ready = await api.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["content-type"].startswith(PROBLEM)
        problem = ready.json()
        assert problem["type"] == "/problems/service-unavailable"
        assert problem["status"] == 503
        retry_after = ready.headers["retry-after"]
        assert retry_after.isdigit() and int(retry_after) >= 1

        private_postgres.start()
        assert (await api.get("/readyz")).status_code == 200
