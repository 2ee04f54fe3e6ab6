"""The standalone worker's own small HTTP server: `/metrics` and `/healthz` on
`FOLLOWUP_WORKER_PORT`, for Prometheus and for a process supervisor's probes."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.metrics import refresh_queue_gauges, render_metrics
from app.worker.runner import Worker

STALL_SECONDS = 60.0
"""`/healthz` fails when the worker loop has not turned for this long past its poll."""


def build_app(worker: Worker, sessionmaker: async_sessionmaker[AsyncSession]) -> Starlette:
    async def metrics(_request: Request) -> Response:
        await refresh_queue_gauges(sessionmaker)
        body, media_type = render_metrics()
        return Response(body, media_type=media_type)

    async def healthz(_request: Request) -> JSONResponse:
        """200 while the worker loop turns; 503 once it has stalled (or not started)."""
        beat = worker.last_beat
        limit = STALL_SECONDS + worker.settings.worker_poll_interval
        if beat is None or asyncio.get_running_loop().time() - beat > limit:
            return JSONResponse({"status": "stalled"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/metrics", metrics), Route("/healthz", healthz)])


class EmbeddedServer(uvicorn.Server):
    """uvicorn inside the worker's event loop; the worker process owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """Bind now, so a port in use fails the start with a clear error (port 0: any free)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.setblocking(False)
    return sock


def create_server(app: Starlette) -> uvicorn.Server:
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    return EmbeddedServer(config)
