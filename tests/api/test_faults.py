"""Bad days (contract section 1, v2): a database that is away answers 503, forged
cursors and fake time zones 422, misconfiguration a sentence, and SQL parameters never
reach a log."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from app.main import create_app
from app.settings import Settings
from app.worker.runner import Worker
from tests.api.test_accounts import assert_problem
from tests.conftest import SECRET_KEY

REFUSED = "postgresql+asyncpg://postgres@127.0.0.1:1/followup"
"""Nothing listens on port 1: every connection is refused at once."""


@pytest.fixture
async def down() -> httpx.AsyncClient:
    app = create_app(
        Settings(_env_file=None, database_url=REFUSED, secret_key=SECRET_KEY)  # type: ignore[call-arg,arg-type]
    )
    transport = httpx.ASGITransport(app=app)
    client = httpx.AsyncClient(
        transport=transport,
        base_url="http://test",
        headers={"Authorization": "Bearer fu_" + "x" * 43},
    )
    yield client  # type: ignore[misc]
    await client.aclose()
    await app.state.engine.dispose()


async def test_api_call_is_503_with_retry_after_when_the_database_is_away(
    down: httpx.AsyncClient,
) -> None:
    for response in (
        await down.get("/v1/candidates"),
        await down.post("/v1/candidates", json={"name": "A"}),
        await down.post("/v1/candidates", json={"name": "A"}, headers={"Idempotency-Key": "k"}),
    ):
        assert_problem(response, 503, "service-unavailable")
        assert int(response.headers["retry-after"]) >= 1
        assert "127.0.0.1" not in response.text


async def test_readyz_is_a_503_problem_when_the_database_is_away(down: httpx.AsyncClient) -> None:
    response = await down.get("/readyz")
    assert_problem(response, 503, "service-unavailable")
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) >= 1


def _cursor(payload: object) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


FORGED = [
    _cursor(["9999-12-31T23:59:59-23:00", "cand_1"]),  # overflows UTC
    _cursor(["2026-01-01T00:00:00+00:00", "\ud800"]),  # a lone surrogate
    _cursor(["2026-01-01T00:00:00+00:00", "cand\u0000x"]),  # NUL
    _cursor(["2026-01-01T00:00:00", "cand_1"]),  # no offset
    _cursor({"a": 1}),
    _cursor(["2026-01-01T00:00:00+00:00", 7]),
    "not base64 at all!",
]


@pytest.mark.parametrize("cursor", FORGED)
@pytest.mark.parametrize(
    "path", ["/v1/candidates", "/v1/interviews", "/v1/events", "/v1/followup-windows"]
)
async def test_forged_cursor_is_422(api: httpx.AsyncClient, path: str, cursor: str) -> None:
    response = await api.get(path, params={"cursor": cursor})
    assert_problem(response, 422, "validation-error")
    assert response.json()["errors"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize("zone", ["localtime", "Factory", "posixrules", "posix/Europe/London"])
async def test_only_iana_zones_of_places_are_time_zones(api: httpx.AsyncClient, zone: str) -> None:
    assert_problem(
        await api.post("/v1/candidates", json={"name": "A", "timezone": zone}),
        422,
        "validation-error",
    )
    ok = await api.post("/v1/candidates", json={"name": "A", "timezone": "America/New_York"})
    assert ok.status_code == 201


async def test_sql_parameters_and_secrets_never_reach_the_log(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
        try:
            key = await api.post("/v1/api-keys", json={"name": "ci"})
            hook = await api.post("/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/h"})
        finally:
            logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    assert "INSERT INTO" in caplog.text, "the SQL itself was logged"
    assert key.json()["api_key"] not in caplog.text
    assert hook.json()["secret"] not in caplog.text
    assert "whsec_" not in caplog.text


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u@db:5432/app", "postgresql+asyncpg://u@db:5432/app"),
        ("postgres://u@db/app", "postgresql+asyncpg://u@db/app"),
        ("sqlite:///./followup.db", "sqlite+aiosqlite:///./followup.db"),
    ],
)
def test_database_url_without_driver_gets_the_shipped_driver(given: str, used: str) -> None:
    assert Settings(_env_file=None, database_url=given).database_url == used  # type: ignore[call-arg]


def test_database_url_with_another_driver_is_refused_with_the_fix() -> None:
    with pytest.raises(ValidationError, match=r"use postgresql\+asyncpg://"):
        Settings(_env_file=None, database_url="postgresql+psycopg2://u@db/app")  # type: ignore[call-arg]


def test_postgresql_without_a_secret_key_refuses_to_start() -> None:
    settings = Settings(_env_file=None, database_url=REFUSED)  # type: ignore[call-arg]
    with pytest.raises(RuntimeError, match="FOLLOWUP_SECRET_KEY is required"):
        settings.secret_box()


async def test_worker_on_an_unmigrated_database_says_migrate_once_without_tracebacks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp_path}/empty.db",
        worker_poll_interval=0.05,
    )
    app = create_app(settings)
    worker = Worker(settings, app.state.sessionmaker)
    with caplog.at_level(logging.INFO, logger="app.worker.runner"):
        task = asyncio.create_task(worker.run())
        await asyncio.sleep(1.5)
        worker.stop()
        await task
    await app.state.engine.dispose()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert "followup migrate" in errors[0].getMessage()
    assert errors[0].exc_info is None, "one line, not a traceback"
