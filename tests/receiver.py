"""A real HTTP receiver on 127.0.0.1 for webhook tests: records requests, replies as told.

A thread per connection, so a slow reply on one path never blocks another path.
Connections are kept alive (and counted); `tls` serves HTTPS with the given context.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0
    """Seconds to wait before answering."""


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    arrived: float
    """`time.monotonic()` when the request was read."""
    raw: bytes = b""
    """The request as it came over the wire: request line, headers, blank line, body."""

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timed-out attempt) is expected; nothing to report."""


class Receiver:
    """Start with `start()`, stop with `close()`; replies per path, in order, last one repeats."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._lock = threading.Lock()
        self.connections = 0
        self._replies: dict[str, list[Reply]] = {}
        self._closing = threading.Event()
        self.requests: list[Received] = []
        self.answered: list[Received] = []
        """Requests whose reply was fully written."""
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._scheme = "http"
        if tls is not None:
            self._scheme = "https"
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"{self._scheme}://127.0.0.1:{self.port}{path}"

    def reply(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self._replies[path] = list(replies)

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    async def wait_for(self, count: int, path: str | None = None, timeout: float = 10.0) -> None:
        """Wait until `count` requests (to `path`) have arrived; fail after `timeout`."""
        deadline = time.monotonic() + timeout
        while len(self.received(path)) < count:
            if time.monotonic() > deadline:
                got = len(self.received(path))
                raise AssertionError(f"expected {count} requests to {path}, got {got}")
            await asyncio.sleep(0.02)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def _next_reply(self, path: str) -> Reply:
        with self._lock:
            queue = self._replies.get(path)
            if not queue:
                return Reply()
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def _handler_class(self) -> Callable[..., BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver.connections += 1

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                head = b"".join(f"{k}: {v}\r\n".encode() for k, v in self.headers.raw_items())
                record = Received(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    arrived=time.monotonic(),
                    raw=self.raw_requestline + head + b"\r\n" + body,
                )
                with receiver._lock:
                    receiver.requests.append(record)
                reply = receiver._next_reply(self.path)
                if reply.delay and receiver._closing.wait(reply.delay):
                    self.close_connection = True
                    return
                # Recorded before the reply goes out, so a client that has its response
                # always finds the request among the answered ones.
                with receiver._lock:
                    receiver.answered.append(record)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the tests assert on `requests` instead."""

        return Handler
