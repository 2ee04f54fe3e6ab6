"""Readiness: the database answers and its schema is at the newest migration."""

from __future__ import annotations

from functools import lru_cache

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.migrate import alembic_config


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


async def check_ready(engine: AsyncEngine) -> str | None:
    """None when ready, else a short reason (never the database URL or credentials)."""
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    except (SQLAlchemyError, OSError):
        return "the database is unreachable or has no migrations applied"
    if {row[0] for row in rows} != head_revisions():
        return "database migrations are not at head"
    return None
