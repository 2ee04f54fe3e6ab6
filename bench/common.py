"""Shared pieces of the benchmarks: ports, processes, scratch databases, CPU time, machine,
and the secret key every process of a run shares."""

from __future__ import annotations

import asyncio
import os
import platform
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.crypto import SecretBox, new_key
from app.db.migrate import upgrade_head
from app.db.session import create_engine

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
"""Only used to reach the server: scratch databases are created beside it, never in it."""

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

SECRET_KEY = new_key()
"""The Fernet key of this run: every `followup` process the bench starts gets it as
`FOLLOWUP_SECRET_KEY` (required with PostgreSQL), and the webhook secrets the bench
stores itself are sealed with it, so the worker can open them."""
SECRET_BOX = SecretBox([SECRET_KEY])

NO_RATE_LIMIT = "1000000/second"
"""`FOLLOWUP_RATE_LIMIT` of every process the bench starts: one API key drives all the
load, so the default per-key limit would answer most requests with 429."""

PARAGRAPHS = (
    "Thank you again for taking the time to meet with me on Tuesday to discuss the "
    "position. I really enjoyed learning more about the team and the projects you are "
    "planning for next year.",
    "Our conversation confirmed my interest in the role. I believe that my experience with "
    "reporting pipelines, forecasting models and clear written summaries would help the "
    "team deliver useful insights quickly.",
    "I was especially glad to hear how closely your analysts work with product managers, "
    "since that is the part of my current job I value most.",
    "If there is anything else you need from me, such as examples of my work or the "
    "contact details of my references, I would be happy to send them.",
    "I look forward to hearing about the next steps and wish you a good week.",
)


def email_body(min_words: int, greeting: str = "Dear Morgan,", name: str = "Jordan Smith") -> str:
    """A well-formed email of about `min_words` words, whole sentences only (so it proofreads
    clean: greeting, sign-off, no sentence over 40 words)."""
    sentences: list[str] = []
    words = 2 + len(greeting.split()) + len(name.split())
    while words < min_words:
        for paragraph in PARAGRAPHS:
            for sentence in paragraph.split(". "):
                if words >= min_words:
                    break
                sentence = sentence if sentence.endswith(".") else sentence + "."
                sentences.append(sentence)
                words += len(sentence.split())
    body = " ".join(sentences)
    return f"{greeting}\n\n{body}\n\nKind regards,\n{name}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 120.0) -> None:
    """Block until `url` answers 200 (a server that is starting up: on a loaded machine
    that can take well over 10 s)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not come up within {timeout:.0f} s")
        time.sleep(0.1)


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on port {port}") from None
            time.sleep(0.05)


def followup_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "followup"), *args]


@contextmanager
def process(
    command: list[str], env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process, terminated (then killed) on the way out."""
    out = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        command, env={**os.environ, **(env or {})}, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, so utime (14) and stime (15) sit at 11, 12.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def _admin(admin_url: str, statement: str) -> None:
    engine = create_engine(admin_url)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@asynccontextmanager
async def scratch_pg_database(admin_url: str, migrate: bool = True) -> AsyncIterator[str]:
    """A new PostgreSQL database beside `admin_url`'s, migrated to head, dropped afterwards."""
    name = f"followup_bench_{uuid.uuid4().hex[:10]}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        if migrate:
            await asyncio.to_thread(upgrade_head, url)
        yield url
    finally:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    return commit + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def machine() -> str:
    """One line: CPU model and count, memory, OS, Python, PostgreSQL server."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{os.cpu_count()} x {model}{memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )
