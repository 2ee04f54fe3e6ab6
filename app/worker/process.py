"""`followup worker`: the worker alone, stopped gracefully by SIGTERM or SIGINT; and the
worker of `followup serve`, on a thread of its own (SQLite) or in a child process
(PostgreSQL).

On a signal it stops claiming, lets running deliveries finish within
`shutdown_grace_seconds` (at most 20 s), hands back the leases of any still running,
and exits 0. Meanwhile it serves `/metrics` and `/healthz` on `FOLLOWUP_WORKER_PORT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import signal
import socket
import threading
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

import httpx

from app.db.session import create_engine, create_sessionmaker
from app.hardening import prepare_process
from app.logs import configure_process_logging
from app.settings import Settings
from app.worker.runner import Worker
from app.worker.server import bind, build_app, create_server

logger = logging.getLogger(__name__)


def freeze_heap() -> None:
    """Put what start-up left alive (modules, settings, the app) out of the garbage
    collector's sight: a full collection walked all of it, about 5 % of the worker's CPU
    while it delivered a backlog."""
    gc.collect()
    gc.freeze()


def _bind_metrics(host: str, port: int) -> socket.socket:
    try:
        return bind(host, port)
    except OSError as exc:
        raise SystemExit(
            f"cannot serve the worker's /metrics on {host}:{port} "
            f"({exc.strerror}); give each worker its own FOLLOWUP_WORKER_PORT, or 0 for any "
            "free port"
        ) from exc


async def _main(settings: Settings, sock: socket.socket, parent: Connection | None = None) -> None:
    """Run the worker and its `/metrics` server on `sock` until a stop signal (or, for the
    child of `followup serve`, until `parent` writes or closes its end of the pipe)."""
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    worker = Worker(settings, sessionmaker)
    server = create_server(build_app(worker, sessionmaker))
    freeze_heap()
    loop = asyncio.get_running_loop()

    def _on_signal(sig: signal.Signals) -> None:
        logger.info("received %s; finishing in-flight deliveries", sig.name)
        worker.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _on_signal, sig)
    if parent is not None:

        def _on_parent() -> None:
            loop.remove_reader(parent.fileno())
            logger.info("followup serve let go of its worker; finishing in-flight deliveries")
            worker.stop()

        loop.add_reader(parent.fileno(), _on_parent)
    host, port = sock.getsockname()[:2]
    logger.info(
        "worker metrics on http://%s:%d/metrics",
        host,
        port,
        extra={"metrics_port": port},
    )
    serving = asyncio.create_task(server.serve(sockets=[sock]), name="metrics server")
    try:
        await worker.run()
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await serving
        sock.close()
        await engine.dispose()


class WorkerThread:
    """The worker of `followup serve`, on its own thread with its own event loop and
    engine, so a busy API loop never delays a delivery (and the worker never delays a
    request). Stopped like the process: no new claims, in-flight ones finish."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._thread = threading.Thread(target=self._run, name="followup-worker", daemon=True)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: Worker | None = None

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=10)

    def wake(self) -> None:
        """Look for work now (from any thread): the API committed events. On SQLite, which
        has no NOTIFY, this is how they reach the worker without its poll interval's wait."""
        if self._loop is not None and self._worker is not None:
            self._loop.call_soon_threadsafe(self._worker.wake)

    def stop(self) -> None:
        """Ask the worker to stop and wait for it (the drain is bounded by its grace)."""
        if self._loop is not None and self._worker is not None:
            self._loop.call_soon_threadsafe(self._worker.stop)
        self._thread.join(timeout=self.settings.shutdown_grace_seconds + 10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        engine = create_engine(self.settings.database_url)
        self._worker = Worker(self.settings, create_sessionmaker(engine))
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        try:
            await self._worker.run()
        finally:
            await engine.dispose()


CHILD_START_SECONDS = 60.0
"""How long `followup serve` waits for its worker process to import the app and bind."""

METRICS_TIMEOUT = 5.0
"""Seconds a scrape of `followup serve` waits for its worker process's metrics."""

RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)
"""Seconds before starting the worker process again after it died, by how many times in a
row it has died within `STEADY_SECONDS` of its start (the last delay repeats)."""

STEADY_SECONDS = 60.0


class WorkerChild:
    """The worker of `followup serve` on PostgreSQL, in a child process: a thread of the API
    process shares its interpreter lock, and under API load the deliveries waited seconds
    for it (event → receipt p99 0.4–3 s, by run). A process has a core of its own.

    The child reads a pipe from this process: when this process closes its end, or dies
    and the kernel closes it, the child drains and exits like `followup worker` on
    SIGTERM, so it never outlives `serve`. If it dies, it is started again (with backoff).
    Its `/metrics` listen on a loopback port of its own, which `serve`'s `/metrics` reads.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._context = multiprocessing.get_context("spawn")  # no fork of a running loop
        self._process: BaseProcess | None = None
        self._pipe: Connection | None = None
        self._metrics_url: str | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        await asyncio.to_thread(self._spawn)
        self._watcher = asyncio.create_task(self._watch(), name="worker process watcher")

    async def stop(self) -> None:
        """Ask the child to drain (close the pipe) and wait for it; kill it past its grace."""
        self._stopping = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await asyncio.to_thread(self._end, self.settings.shutdown_grace_seconds + 10)

    async def read_metrics(self) -> str | None:
        """The child's Prometheus text, or None while it is (re)starting or does not answer."""
        url = self._metrics_url
        if url is None:
            return None
        try:
            async with httpx.AsyncClient(timeout=METRICS_TIMEOUT, trust_env=False) as client:
                response = await client.get(url)
                response.raise_for_status()
        except httpx.HTTPError:
            logger.warning("could not read the worker process's metrics", exc_info=True)
            return None
        return response.text

    def _spawn(self) -> None:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_run_child, args=(self.settings, theirs), name="followup-worker", daemon=True
        )
        process.start()
        theirs.close()
        self._process, self._pipe = process, ours
        if not ours.poll(CHILD_START_SECONDS):
            self._end(0)
            raise RuntimeError("the worker process did not start")
        try:
            port = ours.recv()
        except EOFError:
            self._end(0)
            raise RuntimeError("the worker process exited at start") from None
        self._metrics_url = f"http://127.0.0.1:{port}/metrics"
        logger.info("worker process %d started", process.pid, extra={"worker_pid": process.pid})

    def _end(self, grace: float) -> None:
        process, pipe = self._process, self._pipe
        self._metrics_url = None
        if pipe is not None:
            pipe.close()
        if process is not None:
            process.join(grace)
            if process.is_alive():
                logger.error("worker process %d did not stop in time; killing it", process.pid)
                process.kill()
                process.join()

    async def _watch(self) -> None:
        """Start the child again whenever it dies; back off while it keeps dying young."""
        loop = asyncio.get_running_loop()
        failures = 0
        while True:
            process = self._process
            assert process is not None
            started = loop.time()
            await _readable(loop, process.sentinel)
            await asyncio.to_thread(process.join)
            failures = failures + 1 if loop.time() - started < STEADY_SECONDS else 1
            delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS)) - 1]
            logger.error(
                "worker process %d exited with %s; starting another in %.0f s",
                process.pid,
                process.exitcode,
                delay,
                extra={"worker_pid": process.pid, "exit_code": process.exitcode},
            )
            self._end(0)
            await asyncio.sleep(delay)
            try:
                await asyncio.to_thread(self._spawn)
            except RuntimeError:
                logger.exception("could not start the worker process")


async def _readable(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    """Wait until `fd` can be read (a process's sentinel: until the process has ended)."""
    ready = loop.create_future()

    def _ready() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, _ready)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


def _run_child(settings: Settings, parent: Connection) -> None:
    """The child's entry point: logging as its parent's, its metrics on a loopback port of
    its own (sent to the parent), then the worker until the parent lets go of the pipe."""
    configure_process_logging(settings)
    prepare_process()
    sock = _bind_metrics("127.0.0.1", 0)
    parent.send(sock.getsockname()[1])
    asyncio.run(_main(settings, sock, parent))


def run_worker_process(settings: Settings) -> None:
    settings.secret_box()  # refuse to start without a key where one is required
    sock = _bind_metrics(settings.host, settings.worker_port)
    asyncio.run(_main(settings, sock))
