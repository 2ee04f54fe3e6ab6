"""Test databases: a migrated template per run, a fresh copy per test.

SQLite always; PostgreSQL instead when FOLLOWUP_TEST_DATABASE_URL is set (CI sets it).
The template is built by `alembic upgrade head`, so every run tests the migrations too.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from app.db.migrate import upgrade_head
from app.main import create_app
from app.settings import Settings

PG_URL = os.environ.get("FOLLOWUP_TEST_DATABASE_URL")
ADMIN_TOKEN = "test-admin-token"
SECRET_KEY = "dGVzdC1vbmx5LWtleS1ub3QtZm9yLXByb2R1Y3Rpb24="
"""A fixed Fernet key for tests (32 bytes, url-safe base64); never used outside tests."""


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _pg_exec(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database to clone: a SQLite file, or a PostgreSQL template database."""
    if PG_URL is None:
        path = tmp_path_factory.mktemp("template") / "template.db"
        upgrade_head(f"sqlite+aiosqlite:///{path}")
        yield str(path)
        return
    name = f"followup_tpl_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_exec(PG_URL, f'CREATE DATABASE "{name}"'))
    try:
        upgrade_head(make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
        yield name
    finally:
        asyncio.run(_pg_exec(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def database_url(template_database: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    if PG_URL is None:
        path = tmp_path / "test.db"
        shutil.copyfile(template_database, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    name = f"followup_t_{uuid.uuid4().hex[:12]}"
    await _pg_exec(PG_URL, f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await _pg_exec(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Tests call faster than any client should; tests/api/test_rate_limits.py sets its own.
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        admin_token=ADMIN_TOKEN,  # type: ignore[arg-type]
        secret_key=SECRET_KEY,  # type: ignore[arg-type]
        webhook_allow_private=True,
        rate_limit="1000000/second",
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[object]:
    application = create_app(settings)
    yield application
    await application.state.engine.dispose()


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


NewAccount = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def new_account(app: object) -> AsyncIterator[NewAccount]:
    """Make an account through the admin API; returns a client authenticated as it."""
    clients: list[httpx.AsyncClient] = []

    async def make(name: str = "Acme Careers") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        admin = httpx.AsyncClient(transport=transport, base_url="http://test")
        async with admin:
            response = await admin.post(
                "/admin/accounts",
                json={"name": name},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            )
        assert response.status_code == 201, response.text
        authed = httpx.AsyncClient(
            transport=transport,
            base_url="http://test",
            headers={"Authorization": f"Bearer {response.json()['api_key']}"},
        )
        clients.append(authed)
        return authed

    yield make
    for authed in clients:
        await authed.aclose()


@pytest.fixture
async def api(new_account: NewAccount) -> httpx.AsyncClient:
    """A client authenticated as a fresh account."""
    return await new_account()
