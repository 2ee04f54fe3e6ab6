"""`followup worker`: the worker alone, stopped gracefully by SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import signal

from app.db.session import create_engine, create_sessionmaker
from app.settings import Settings
from app.worker.runner import Worker


async def _main(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    worker = Worker(settings, create_sessionmaker(engine))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stop)
    try:
        await worker.run()
    finally:
        await engine.dispose()


def run_worker_process(settings: Settings) -> None:
    asyncio.run(_main(settings))
