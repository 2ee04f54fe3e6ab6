"""`followup worker`: the worker alone, stopped gracefully by SIGTERM or SIGINT.

On a signal it stops claiming, lets running deliveries finish within
`shutdown_grace_seconds` (at most 20 s), hands back the leases of any still running,
and exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from app.db.session import create_engine, create_sessionmaker
from app.settings import Settings
from app.worker.runner import Worker

logger = logging.getLogger(__name__)


async def _main(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    worker = Worker(settings, create_sessionmaker(engine))
    loop = asyncio.get_running_loop()

    def _on_signal(sig: signal.Signals) -> None:
        logger.info("received %s; finishing in-flight deliveries", sig.name)
        worker.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _on_signal, sig)
    try:
        await worker.run()
    finally:
        await engine.dispose()


def run_worker_process(settings: Settings) -> None:
    settings.secret_box()  # refuse to start without a key where one is required
    asyncio.run(_main(settings))
