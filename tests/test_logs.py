"""Log rendering: JSON lines or text, request ids, URLs and secrets kept out."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from app.logs import (
    MAX_REQUEST_ID,
    QUIET_LOGGERS,
    REDACTED,
    clean_request_id,
    configure_logging,
    loggable_url,
    request_context,
)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@contextmanager
def captured(
    fmt: str = "json", level: str = "DEBUG", secrets: tuple[str, ...] = (), tty: bool = False
) -> Iterator[io.StringIO]:
    """The service's logging, writing to a buffer; the previous set-up comes back after."""
    stream = _Terminal() if tty else io.StringIO()
    root = logging.getLogger()
    level_before = root.level
    handlers_before = list(root.handlers)
    configure_logging(level, fmt, secrets=secrets, stream=stream)  # type: ignore[arg-type]
    try:
        yield stream
    finally:
        for handler in [h for h in root.handlers if h not in handlers_before]:
            root.removeHandler(handler)
        root.setLevel(level_before)
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.NOTSET)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


def test_a_safe_request_id_is_kept() -> None:
    assert clean_request_id("req-42_a.b:c") == "req-42_a.b:c"


def test_a_request_id_loses_unsafe_characters_and_is_bounded() -> None:
    assert clean_request_id("abc\r\nSet-Cookie: x<y>") == "abcSet-Cookie:xy"
    assert len(clean_request_id("a" * 1000)) == MAX_REQUEST_ID


def test_a_missing_or_unusable_request_id_is_generated() -> None:
    generated = {clean_request_id(None), clean_request_id(""), clean_request_id("\n<>")}
    assert len(generated) == 3
    assert all(len(value) == 32 for value in generated)


def test_a_logged_url_has_no_credentials_query_or_fragment() -> None:
    url = "https://user:pw@hooks.example.com:8443/in/path?token=abc#frag"
    assert loggable_url(url) == "https://hooks.example.com:8443/in/path"
    assert loggable_url("http://[::1]/h?x=1") == "http://[::1]/h"


def test_json_lines_when_not_on_a_terminal_with_fields_and_request_id() -> None:
    with captured(fmt="auto") as stream, request_context("req-1"):
        logging.getLogger("app.test").info("hello %s", "there", extra={"endpoint_id": "we_1"})

    [line] = lines(stream)
    assert line["event"] == "hello there"
    assert line["level"] == "info"
    assert line["logger"] == "app.test"
    assert line["endpoint_id"] == "we_1"
    assert line["request_id"] == "req-1"
    assert "timestamp" in line


def test_readable_text_on_a_terminal() -> None:
    with captured(fmt="auto", tty=True) as stream:
        logging.getLogger("app.test").warning("disk %s", "full", extra={"free": 0})

    text = stream.getvalue()
    assert "disk full" in text
    assert "free=0" in text
    assert not text.lstrip().startswith("{")


def test_the_request_id_leaves_with_the_request() -> None:
    with captured() as stream:
        with request_context("req-2"):
            logging.getLogger("app.test").info("inside")
        logging.getLogger("app.test").info("outside")

    inside, outside = lines(stream)
    assert inside["request_id"] == "req-2"
    assert "request_id" not in outside


def test_secrets_are_redacted_from_messages_fields_and_tracebacks() -> None:
    key = "fu_" + "k" * 43
    secret = "whsec_" + "s" * 44
    with captured(fmt="text", secrets=("operator-token-123",)) as stream:
        log = logging.getLogger("app.test")
        log.info("key %s", key, extra={"detail": {"secret": secret}})
        try:
            raise ValueError(f"bad token operator-token-123 and {secret}")
        except ValueError:
            log.exception("failed")

    text = stream.getvalue()
    assert key not in text
    assert secret not in text
    assert "operator-token-123" not in text
    assert f"key {REDACTED}" in text
    assert f"ValueError: bad token {REDACTED} and {REDACTED}" in text


def test_noisy_libraries_stay_quiet_at_debug() -> None:
    with captured(level="DEBUG") as stream:
        logging.getLogger("httpx").info("HTTP Request: POST http://x/?token=1")
        logging.getLogger("aiosqlite").debug("executing INSERT … whsec_x")
        logging.getLogger("alembic.runtime.plugins").info("setup plugin alembic.autogenerate")
        logging.getLogger("app.test").debug("ours")

    assert [line["event"] for line in lines(stream)] == ["ours"]
