"""Service settings, read from `FOLLOWUP_*` environment variables or a `.env` file."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from limits import parse_many
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.crypto import SecretBox, secret_box
from app.webhooks.retry import DEFAULT_SCHEDULE, parse_schedule


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FOLLOWUP_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = "sqlite+aiosqlite:///./followup.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    admin_token: SecretStr | None = None
    secret_key: SecretStr | None = None
    """Fernet key(s), comma-separated, first one sealing: webhook secrets at rest."""
    webhook_allow_private: bool = False
    webhook_retry_schedule: Annotated[tuple[float, ...], NoDecode] = DEFAULT_SCHEDULE
    webhook_timeout: float = Field(default=10.0, gt=0, le=50)
    """Seconds per attempt; at most 50 so an attempt always ends inside its lease (≤ 60 s)."""
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    log_level: str = "INFO"
    worker_poll_interval: float = Field(default=1.0, gt=0, le=60)
    worker_concurrency: int = Field(default=32, ge=1, le=1000)
    worker_per_endpoint_concurrency: int = Field(default=4, ge=1, le=100)
    retention_days: int = Field(default=30, ge=1, le=3650)
    shutdown_grace_seconds: float = Field(default=20.0, ge=0, le=20)
    rate_limit: str = "50/second"
    """Requests per API key (and per admin token): one rate in the `limits` notation,
    such as `100/second`, `3000/minute` or `10 per 5 seconds`."""
    redis_url: SecretStr | None = None
    """`redis://` or `rediss://`: shares rate-limit counters across processes; a secret
    because it may carry a password."""
    redis_prefix: str = Field(default="followup", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    """Prefix of every Redis key, so environments can share one Redis."""
    keep_alive_timeout: int = Field(default=5, ge=1, le=300)
    """Seconds an idle keep-alive connection is held open after a response (uvicorn's
    `timeout_keep_alive`); behind a proxy, above the proxy's upstream keep-alive."""
    log_format: Literal["auto", "json", "text"] = "auto"
    """`auto`: JSON lines when stderr is not a terminal, readable text when it is."""
    worker_port: int = Field(default=8001, ge=0, le=65535)
    """`followup worker` serves `/metrics` and `/healthz` here; 0 picks a free port."""
    streams_per_key: int = Field(default=5, ge=1, le=1000)
    """Open `GET /v1/events/stream` connections allowed per API key (per API process)."""
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0, le=15)
    stream_poll_interval: float = Field(default=1.0, gt=0, le=60)
    stream_settle_seconds: float = Field(default=1.0, ge=0, le=60)
    """Events reach the stream once this old, so a transaction that commits a moment after
    a later one cannot slip behind a reader's position."""

    def secret_box(self) -> SecretBox:
        """Seals and opens webhook secrets; raises `ConfigurationError` when no key can
        be had (PostgreSQL without `FOLLOWUP_SECRET_KEY`)."""
        key = self.secret_key.get_secret_value() if self.secret_key else None
        return secret_box(key, self.database_url)

    @field_validator("webhook_retry_schedule", mode="before")
    @classmethod
    def _split_schedule(cls, value: object) -> object:
        return parse_schedule(value) if isinstance(value, str) else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(item.strip() for item in value.split(",") if item.strip())
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """`postgresql://…` (or `postgres://`) means asyncpg and `sqlite://…` aiosqlite,
        the drivers this service ships with; any other driver is refused with the fix."""
        scheme, sep, rest = value.partition("://")
        if not sep:
            raise ValueError("FOLLOWUP_DATABASE_URL must look like postgresql://… or sqlite:///…")
        backend, _, driver = scheme.partition("+")
        if backend in ("postgresql", "postgres") and driver in ("", "asyncpg"):
            return f"postgresql+asyncpg://{rest}"
        if backend == "sqlite" and driver in ("", "aiosqlite"):
            return f"sqlite+aiosqlite://{rest}"
        raise ValueError(
            f"unsupported database driver {scheme!r}: use postgresql+asyncpg://… (or plain "
            "postgresql://…) or sqlite+aiosqlite:///path (or sqlite:///path)"
        )

    @field_validator("rate_limit")
    @classmethod
    def _check_rate(cls, value: str) -> str:
        try:
            items = parse_many(value)
        except ValueError:
            raise ValueError(
                "rate limit must look like '100/second', '3000/minute' or '10 per 5 seconds'"
            ) from None
        if len(items) != 1 or items[0].amount < 1:
            raise ValueError("rate limit must be one rate of at least 1 request")
        return value.strip()

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("log level must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level


@lru_cache
def get_settings() -> Settings:
    return Settings()
