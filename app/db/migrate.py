"""Run Alembic from code (CLI `followup migrate`, tests), against any database URL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config


def project_root() -> Path:
    """The directory holding `alembic.ini` and `alembic/` (source tree or image workdir)."""
    here = Path(__file__).resolve().parents[2]
    if (here / "alembic.ini").exists():
        return here
    return Path.cwd()


def alembic_config(database_url: str | None = None) -> Config:
    root = project_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "alembic"))
    if database_url is not None:
        config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade_head(database_url: str | None = None) -> None:
    command.upgrade(alembic_config(database_url), "head")
