"""Logging: JSON lines for machines, readable text on a terminal, the request id on every
line of a request, and no secret on any line.

structlog renders every record, ours and the libraries' alike, through the standard
library (`ProcessorFormatter`): the code keeps `logging.getLogger(__name__)` and passes
fields in `extra={...}`. structlog was picked over a bare JSON formatter because one
library then gives both renderings and exception formatting, and it is widely used and
actively kept.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal, TextIO
from urllib.parse import urlsplit, urlunsplit

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

if TYPE_CHECKING:
    from app.settings import Settings

REQUEST_ID_HEADER = "x-request-id"
MAX_REQUEST_ID = 128
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9._:@+=/-]")

QUIET_LOGGERS = {
    # httpx logs every request with its full URL (query strings can carry tokens).
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    # At DEBUG these log SQL parameters: key hashes, webhook secrets.
    "aiosqlite": logging.WARNING,
    "sqlalchemy": logging.WARNING,
    "asyncio": logging.WARNING,
    # "setup plugin …" lines on every migration.
    "alembic": logging.WARNING,
    # Every request is logged once by `RequestContextMiddleware`, with its request id.
    "uvicorn.access": logging.WARNING,
}
"""Libraries that are noisy or indiscreet below these levels, whatever the service's level."""

SECRET_PATTERN = re.compile(r"\b(?:fu|whsec)_[A-Za-z0-9_+/=-]{8,}")
"""API keys (`fu_…`) and webhook secrets (`whsec_…`)."""

REDACTED = "[redacted]"

DROPPED_FIELDS = frozenset({"color_message"})
"""uvicorn's ANSI-coloured copy of its message."""

_HANDLER_MARK = "_followup_handler"


def clean_request_id(value: str | None) -> str:
    """The caller's `X-Request-ID` kept to safe characters and 128 of them, or a new id."""
    if value:
        cleaned = _UNSAFE_ID_CHARS.sub("", value)[:MAX_REQUEST_ID]
        if cleaned:
            return cleaned
    return uuid.uuid4().hex


_REQUEST_ID: ContextVar[str | None] = ContextVar("followup_request_id", default=None)


@contextmanager
def request_context(request_id: str) -> Iterator[None]:
    """Within it, every line logged in this context (a request's task) carries the id.

    One context variable of our own rather than structlog's `bound_contextvars`: that
    one reads every variable of the context on entry and on each line, a measurable
    share of a request's CPU time."""
    token = _REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        _REQUEST_ID.reset(token)


def add_request_id(
    _logger: WrappedLogger, _name: str, event_dict: EventDict
) -> MutableMapping[str, Any]:
    """The processor that puts the current request's id on a line."""
    request_id = _REQUEST_ID.get()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    return event_dict


class _Redactor:
    """The last line of defence: scrub key- and secret-shaped strings and the admin token
    from every value, tracebacks included."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._literals = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            value = SECRET_PATTERN.sub(REDACTED, value)
            for literal in self._literals:
                value = value.replace(literal, REDACTED)
            return value
        if isinstance(value, dict):
            return {key: self._scrub(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrub(item) for item in value]
        return value

    def __call__(
        self, _logger: WrappedLogger, _name: str, event_dict: EventDict
    ) -> MutableMapping[str, Any]:
        return {
            key: self._scrub(value)
            for key, value in event_dict.items()
            if key not in DROPPED_FIELDS
        }


def loggable_url(url: str) -> str:
    """The URL without credentials, query string or fragment, which may carry tokens."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "[unparsable url]"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def use_json(fmt: Literal["auto", "json", "text"], stream: TextIO) -> bool:
    if fmt == "auto":
        return not stream.isatty()
    return fmt == "json"


def configure_logging(
    level: str,
    fmt: Literal["auto", "json", "text"] = "auto",
    *,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> None:
    """Send every record to `stream` (stderr) as JSON or text; `secrets` are never shown.

    Replaces only the handler an earlier call installed, so test harnesses keep theirs.
    """
    stream = stream or sys.stderr
    as_json = use_json(fmt, stream)
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    pre_chain: list[Processor] = [
        add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre_chain,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _Redactor(secrets),
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    threshold = logging.getLevelName(level)
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(quiet, threshold))
    # uvicorn's own loggers go through the root handler like everything else.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True


def configure_process_logging(settings: Settings) -> None:
    """Logging for a process of the CLI (`serve` and its worker process, `api`, `worker`):
    the settings' level and format, the admin token never shown."""
    token = settings.admin_token.get_secret_value() if settings.admin_token else ""
    configure_logging(settings.log_level, settings.log_format, secrets=[token])
