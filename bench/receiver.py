"""A minimal local webhook receiver for the benchmarks, run in a process of its own.

HTTP/1.1 with keep-alive, answers every request `200 ok` at once, so its CPU time is
charged to neither side of a comparison. With `--log PATH` it also notes, for each
request, its `webhook-id` and the wall-clock time it was fully read, and writes them to
PATH (one "id time" line each) when it receives SIGTERM.

Run: `python -m bench.receiver PORT [--log PATH]`; `receiver_process()` does it for you.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import ROOT, free_port, wait_port


class _Protocol(asyncio.Protocol):
    def __init__(self, log: list[tuple[bytes, float]] | None) -> None:
        self.log = log
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (head_end := self.buffer.find(b"\r\n\r\n")) >= 0:
            length = 0
            webhook_id = b""
            for line in self.buffer[:head_end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"webhook-id":
                    webhook_id = value.strip()
            total = head_end + 4 + length
            if len(self.buffer) < total:
                return
            self.buffer = self.buffer[total:]
            if self.log is not None:
                self.log.append((webhook_id, time.time()))
            self.transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"
            )


async def serve(port: int, log_path: Path | None) -> None:
    loop = asyncio.get_running_loop()
    log: list[tuple[bytes, float]] | None = [] if log_path else None
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await loop.create_server(lambda: _Protocol(log), "127.0.0.1", port)
    async with server:
        await stop.wait()
    if log_path is not None and log is not None:
        log_path.write_text("".join(f"{i.decode()} {t:.6f}\n" for i, t in log))


@contextmanager
def receiver_process(log: Path | None = None) -> Iterator[str]:
    """Start a receiver; yields its base URL. On exit it is stopped (and `log` written)."""
    port = free_port()
    command = [sys.executable, "-m", "bench.receiver", str(port)]
    if log is not None:
        command += ["--log", str(log)]
    proc = subprocess.Popen(command, cwd=ROOT)
    try:
        wait_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("--log", type=Path)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.log))


if __name__ == "__main__":
    main()
