"""`followup serve`: the API and a worker in one command, the worker where API load cannot
starve it: on a thread with its own event loop on SQLite, in a child process that never
outlives `serve` on PostgreSQL."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from multiprocessing.process import BaseProcess
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from app.main import create_app
from app.settings import Settings
from tests.conftest import ADMIN_TOKEN, PG_URL, SECRET_KEY
from tests.receiver import Receiver
from tests.servers import Server, followup_env, free_port

pg_only = pytest.mark.skipif(
    PG_URL is None,
    reason="serve's worker is a child process on PostgreSQL: set FOLLOWUP_TEST_DATABASE_URL",
)


def worker_processes() -> list[BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.name == "followup-worker"]


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[FastAPI]:
    """`followup serve`'s app, started with its worker; its engine disposed after."""
    app = create_app(settings, with_worker=True)
    try:
        async with app.router.lifespan_context(app):
            yield app
    finally:
        await app.state.engine.dispose()


@asynccontextmanager
async def subscribed(app: FastAPI, receiver: Receiver) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` authenticated as a new account with one webhook endpoint on
    `receiver`."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        created = await http.post(
            "/admin/accounts",
            json={"name": "Serve"},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        http.headers["Authorization"] = f"Bearer {created.json()['api_key']}"
        hook = await http.post("/v1/webhook-endpoints", json={"url": receiver.url()})
        assert hook.status_code == 201, hook.text
        yield http


async def _schedule_interview(http: httpx.AsyncClient) -> None:
    """One `interview.scheduled` event for the subscribed account."""
    candidate = await http.post("/v1/candidates", json={"name": "Ada"})
    interview = await http.post(
        "/v1/interviews",
        json={
            "candidate_id": candidate.json()["id"],
            "company": "Ledgerly",
            "role_title": "Engineer",
            "starts_at": "2099-01-05T10:00:00Z",
        },
    )
    assert interview.status_code == 201, interview.text


def _worker_threads() -> set[str]:
    return {thread.name for thread in threading.enumerate()} & {"followup-worker"}


async def test_serve_delivers_from_a_worker_of_its_own(
    worker_settings: Settings, receiver: Receiver
) -> None:
    async with serving(worker_settings) as app:
        if PG_URL is None:
            assert _worker_threads() == {"followup-worker"}
            assert worker_processes() == []
        else:
            [child] = worker_processes()
            assert child.pid != os.getpid()
            assert _worker_threads() == set()
        async with subscribed(app, receiver) as http:
            await _schedule_interview(http)
            await receiver.wait_for(1, timeout=10)
    [delivered] = receiver.received()
    assert delivered.headers["webhook-id"].startswith("evt_")
    assert _worker_threads() == set()
    assert worker_processes() == []


@pg_only
async def test_serve_metrics_show_the_deliveries_of_its_worker_process(
    worker_settings: Settings, receiver: Receiver
) -> None:
    async with serving(worker_settings) as app, subscribed(app, receiver) as http:
        await _schedule_interview(http)
        await receiver.wait_for(1, timeout=10)
        deadline = time.monotonic() + 10
        while True:  # the child counts the delivery once its result is written
            metrics = await http.get("/metrics")
            families = list(text_string_to_metric_families(metrics.text))
            delivered = {
                sample.labels["outcome"]: sample.value
                for family in families
                if family.name == "followup_webhook_deliveries"
                for sample in family.samples
            }
            if delivered.get("succeeded") or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
    assert metrics.status_code == 200
    # The child's count (this test's one delivery), not the test process's registry.
    assert delivered == {"succeeded": 1.0}
    names = [family.name for family in families]
    assert len(names) == len(set(names)), "a family appears twice"
    assert "followup_http_requests" in names  # the API's own families stay
    assert "process_cpu_seconds" in names


@pg_only
async def test_serve_starts_its_worker_process_again_after_it_dies(
    worker_settings: Settings, receiver: Receiver
) -> None:
    async with serving(worker_settings) as app:
        [first] = worker_processes()
        assert first.pid is not None
        os.kill(first.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not (started := [p for p in worker_processes() if p.pid != first.pid]):
            assert time.monotonic() < deadline, "no worker process was started again"
            await asyncio.sleep(0.1)
        async with subscribed(app, receiver) as http:
            await _schedule_interview(http)
            await receiver.wait_for(1, timeout=20)
    [second] = started
    assert not second.is_alive()
    assert len(receiver.received()) == 1


def _children(pid: int) -> list[int]:
    """Live processes whose parent is `pid` (from /proc; zombies count as gone)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _worker_child(pid: int) -> int:
    deadline = time.monotonic() + 30
    while True:
        for child in _children(pid):
            command = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in command:
                return child
        assert time.monotonic() < deadline, "serve started no worker process"
        time.sleep(0.1)


@pg_only
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_the_worker_process_never_outlives_serve(
    database_url: str, tmp_path: Path, sig: signal.Signals
) -> None:
    """Stopped with serve, or, when serve is killed outright, on its own: the pipe from
    serve closes with it."""
    port = free_port()
    env = followup_env(database_url, FOLLOWUP_PORT=str(port), FOLLOWUP_SECRET_KEY=SECRET_KEY)
    with Server([sys.executable, "-m", "app.cli", "serve"], env, tmp_path, port) as server:
        assert server.proc is not None
        child = _worker_child(server.proc.pid)
        assert _alive(child)
        server.proc.send_signal(sig)
        code = server.proc.wait(timeout=60)
        deadline = time.monotonic() + 30
        while _alive(child):
            assert time.monotonic() < deadline, f"worker process {child} outlived serve"
            time.sleep(0.1)
    assert code == (0 if sig == signal.SIGTERM else -signal.SIGKILL), server.output()


async def test_serve_wakes_its_worker_when_a_request_commits_events(
    worker_settings: Settings, receiver: Receiver
) -> None:
    """No NOTIFY on SQLite, and a minute between polls here: the request that commits
    an event wakes the worker of its own process, with or without an Idempotency-Key."""
    settings = worker_settings.model_copy(update={"worker_poll_interval": 60.0})
    async with serving(settings) as app, subscribed(app, receiver) as http:
        candidate = (await http.post("/v1/candidates", json={"name": "Ada"})).json()
        body = {
            "candidate_id": candidate["id"],
            "company": "Ledgerly",
            "role_title": "Engineer",
            "starts_at": "2099-01-05T10:00:00Z",
        }
        for count, headers in ((1, {}), (2, {"Idempotency-Key": "woken"})):
            interview = await http.post("/v1/interviews", json=body, headers=headers)
            assert interview.status_code == 201, interview.text
            await receiver.wait_for(count, timeout=5)
    assert len(receiver.received()) == 2
