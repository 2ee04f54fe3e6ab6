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


def run_worker_process(settings: Settings) -> None:
    asyncio.run(_main(settings))
