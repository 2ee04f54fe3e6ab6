"""`followup worker`: the worker alone, stopped gracefully by SIGTERM or SIGINT.

On a signal it stops claiming, lets running deliveries finish within
`shutdown_grace_seconds` (at most 20 s), hands back the leases of any still running,
and exits 0. Meanwhile it serves `/metrics` and `/healthz` on `FOLLOWUP_WORKER_PORT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading

from app.db.session import create_engine, create_sessionmaker
from app.settings import Settings
from app.worker.runner import Worker
from app.worker.server import bind, build_app, create_server

logger = logging.getLogger(__name__)


async def _main(settings: Settings) -> None:
    try:
        sock = bind(settings.host, settings.worker_port)
    except OSError as exc:
        raise SystemExit(
            f"cannot serve the worker's /metrics on {settings.host}:{settings.worker_port} "
            f"({exc.strerror}); give each worker its own FOLLOWUP_WORKER_PORT, or 0 for any "
            "free port"
        ) from exc
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    worker = Worker(settings, sessionmaker)
    server = create_server(build_app(worker, sessionmaker))
    loop = asyncio.get_running_loop()

    def _on_signal(sig: signal.Signals) -> None:
        logger.info("received %s; finishing in-flight deliveries", sig.name)
        worker.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _on_signal, sig)
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


def run_worker_process(settings: Settings) -> None:
    settings.secret_box()  # refuse to start without a key where one is required
    asyncio.run(_main(settings))
