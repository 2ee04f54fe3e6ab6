"""Unauthenticated operational endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.metrics import refresh_queue_gauges, render_metrics
from app.services.readiness import check_ready

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Database unreachable or not migrated"}})
async def readyz(request: Request) -> JSONResponse:
    problem = await check_ready(request.app.state.engine)
    if problem is None:
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "unavailable", "detail": problem}, status_code=503)


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus text; with the worker in this process, its queue gauges are read now."""
    if request.app.state.with_worker:
        await refresh_queue_gauges(request.app.state.sessionmaker)
    body, media_type = render_metrics()
    return Response(body, media_type=media_type)
