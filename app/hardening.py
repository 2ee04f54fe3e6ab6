"""Process set-up for the long-running commands (`serve`, `api`, `worker`): enough file
descriptors for thousands of connections, and no log flood when they run out anyway.

uvicorn's `limit_concurrency` is deliberately left off: it counts every open
connection, idle and half-sent ones included, so a crowd of slow clients would turn
every legitimate request into a 503; it does not stop `accept()` from taking
descriptors; and its 503 is plain text with a warning logged per refusal. Shedding
connections and timing out slow headers and bodies is the reverse proxy's job
(docs/deployment-hardening.md).
"""

from __future__ import annotations

import logging
import re
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

UNLIMITED_CAP = 1 << 20
"""Soft limit to ask for when the hard limit is unlimited (Linux refuses infinity)."""

THROTTLED_LOGGERS = ("asyncio",)
"""Loggers whose repeated errors are throttled: asyncio reports `accept()` failing for
want of descriptors (EMFILE/ENFILE) on every retry, with a traceback each time."""


def raise_open_file_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = UNLIMITED_CAP if hard == resource.RLIM_INFINITY else hard
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        logger.warning("could not raise the open-file limit from %d: %s", soft, exc)
        return soft
    return target


_VARYING = re.compile(r"0x[0-9a-fA-F]+|\d+")


@dataclass(slots=True)
class _Window:
    started: float
    suppressed: int = 0


class RepeatThrottle(logging.Filter):
    """Let through at most one record of a kind per `interval` seconds.

    A record's kind is the first line of its message with numbers and addresses
    blanked, so "socket.accept() out of system resource" on fd 7 and fd 9 are one
    kind. The first record let through after a quiet spell reports how many of its
    kind were dropped in the previous window.
    """

    def __init__(
        self,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_kinds: int = 256,
    ) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self.max_kinds = max_kinds
        self._windows: dict[str, _Window] = {}

    def _kind(self, record: logging.LogRecord) -> str:
        first_line = record.getMessage().partition("\n")[0]
        kind = _VARYING.sub("#", first_line)[:200]
        if kind not in self._windows and len(self._windows) >= self.max_kinds:
            return "(other)"
        return kind

    def _forget_expired(self, now: float) -> None:
        expired = [k for k, w in self._windows.items() if now - w.started >= self.interval]
        for kind in expired:
            if not self._windows[kind].suppressed:
                del self._windows[kind]

    def filter(self, record: logging.LogRecord) -> bool:
        now = self.clock()
        if len(self._windows) >= self.max_kinds:
            self._forget_expired(now)
        kind = self._kind(record)
        window = self._windows.get(kind)
        if window is not None and now - window.started < self.interval:
            window.suppressed += 1
            return False
        self._windows[kind] = _Window(now)
        if window is not None and window.suppressed:
            record.msg = (
                f"{record.getMessage()} [{window.suppressed} more like this in the "
                f"previous {self.interval:.0f} s were not logged]"
            )
            record.args = None
        return True


def install_log_throttle(interval: float = 60.0) -> None:
    for name in THROTTLED_LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, RepeatThrottle) for f in target.filters):
            target.addFilter(RepeatThrottle(interval))


def prepare_process() -> None:
    """Call once at the start of `serve`, `api` and `worker`."""
    limit = raise_open_file_limit()
    install_log_throttle()
    logger.info("open-file limit: %d descriptors", limit)
