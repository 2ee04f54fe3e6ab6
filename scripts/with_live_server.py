"""Run a command against a live `followup api` on a fresh SQLite database, then stop it.

    python scripts/with_live_server.py -- COMMAND [ARG ...]

The server listens on a free loopback port with an admin token and private webhook URLs
allowed. The command gets `FOLLOWUP_BASE_URL` and `FOLLOWUP_ADMIN_TOKEN`; its exit
status is this script's. The SDK quick-starts run through it (`make sdk`).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 25.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(base_url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server was not ready within {READY_TIMEOUT:.0f} s")


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main(argv: list[str]) -> int:
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        print(__doc__, file=sys.stderr)
        return 2
    followup = Path(sys.executable).with_name("followup")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="followup-live-") as folder:
        env = {
            **os.environ,
            "FOLLOWUP_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/followup.db",
            "FOLLOWUP_HOST": "127.0.0.1",
            "FOLLOWUP_PORT": str(port),
            "FOLLOWUP_ADMIN_TOKEN": secrets.token_urlsafe(24),
            "FOLLOWUP_WEBHOOK_ALLOW_PRIVATE": "true",
            "FOLLOWUP_LOG_LEVEL": "WARNING",
        }
        subprocess.run([str(followup), "migrate"], env=env, check=True, cwd=folder)
        server = subprocess.Popen([str(followup), "api"], env=env, cwd=folder)
        try:
            base_url = f"http://127.0.0.1:{port}"
            wait_ready(base_url, server)
            return subprocess.run(command, env={**env, "FOLLOWUP_BASE_URL": base_url}).returncode
        finally:
            stop(server)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
