"""Which database errors are the database's state, not a bug: worth a retry (503 for a
request, a back-off for the worker), and which mean the schema was never migrated."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout

_MISSING_TABLE = ("no such table", "does not exist", "undefinedtable")


def database_unmigrated(exc: BaseException) -> bool:
    """A table is missing: the database was never migrated (`followup migrate`)."""
    if not isinstance(exc, (OperationalError, ProgrammingError)):
        return False
    text = f"{type(exc.orig).__name__} {exc.orig}".lower()
    return any(marker in text for marker in _MISSING_TABLE)


def database_unavailable(exc: BaseException) -> bool:
    """Down, unreachable, restarting, its pool exhausted, a dropped connection, or
    (SQLite) busy past its timeout."""
    if database_unmigrated(exc):
        return False
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout, OSError, TimeoutError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
