"""The one wall clock, and the one way a time leaves the service.

Requests read the clock once, through the `Now` dependency, and pass that instant down;
the worker reads it once per step. Nothing else calls `utcnow`, so a test that freezes
the dependency (or passes `now` to a worker step) controls every timestamp written.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_utc(value: datetime) -> str:
    """RFC 3339 in UTC with a `Z` suffix, the contract's output form."""
    return value.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"
