"""Real `followup` processes for tests: a free port, a clean environment, wait for ready."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

STARTUP_DEADLINE = 90.0
"""Seconds a server may take to answer (a safety net on a busy machine, not a measurement)."""

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def followup_env(database_url: str, **extra: str) -> dict[str, str]:
    """The parent's environment minus its FOLLOWUP_* settings, plus the test's own, with
    this interpreter's `followup` first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        FOLLOWUP_DATABASE_URL=database_url,
        FOLLOWUP_LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def run_followup(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class Server:
    """A server process (any command line); `with` waits until `probe` answers 200."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path, port: int) -> None:
        self.command = command
        self.env = env
        self.cwd = cwd
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = cwd / f"server-{port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self.wait_ready("/healthz")
        except BaseException:
            self.__exit__(None, None, None)  # a server that never came up is not left running
            raise
        return self

    def wait_ready(self, path: str) -> httpx.Response:
        assert self.proc is not None
        deadline = time.monotonic() + STARTUP_DEADLINE
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}:\n{self.output()}")
            try:
                response = httpx.get(self.base_url + path, timeout=5)
                if response.status_code == 200:
                    return response
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"server never answered {path}:\n{self.output()}")
            time.sleep(0.2)

    def terminate(self) -> int:
        """SIGTERM, then the exit status once it has drained."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
