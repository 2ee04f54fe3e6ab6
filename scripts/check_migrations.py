"""`alembic check` against freshly migrated databases: the models and migrations agree.

Always on a temporary SQLite file; also on a scratch PostgreSQL database when
FOLLOWUP_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import uuid

import asyncpg
from alembic import command
from sqlalchemy.engine import make_url

from app.db.migrate import alembic_config, upgrade_head


def check(url: str) -> None:
    upgrade_head(url)
    command.check(alembic_config(url))
    print(f"alembic check: clean on {make_url(url).get_backend_name()}")


async def _admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        check(f"sqlite+aiosqlite:///{tmp}/check.db")
    pg_url = os.environ.get("FOLLOWUP_TEST_DATABASE_URL")
    if pg_url:
        name = f"followup_check_{uuid.uuid4().hex[:12]}"
        asyncio.run(_admin(pg_url, f'CREATE DATABASE "{name}"'))
        try:
            check(make_url(pg_url).set(database=name).render_as_string(False))
        finally:
            asyncio.run(_admin(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
