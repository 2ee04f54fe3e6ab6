"""Unauthenticated operational endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.api.openapi import ApiRoute
from app.api.problems import PROBLEM_MEDIA_TYPE, problem_response
from app.errors import ServiceUnavailableError
from app.metrics import refresh_queue_gauges, render_metrics
from app.schemas.problem import Problem
from app.services.readiness import check_ready

router = APIRouter(tags=["ops"], route_class=ApiRoute)


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok"]


@router.get("/healthz", name="read_health", summary="Liveness")
async def healthz() -> Health:
    """Answers 200 while the process serves requests; it checks nothing else."""
    return Health(status="ok")


@router.get(
    "/readyz",
    name="read_readiness",
    summary="Readiness",
    response_model=Readiness,
    responses={
        503: {
            "model": Problem,
            "description": "`service-unavailable`: the database is unreachable or not "
            "migrated (with `Retry-After`).",
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
    },
)
async def readyz(request: Request) -> JSONResponse:
    """200 when the database answers and its migrations are at head; else 503, so a load
    balancer sends no traffic to an instance that cannot serve it."""
    problem = await check_ready(request.app.state.engine)
    if problem is None:
        return JSONResponse({"status": "ok"})
    return problem_response(
        503,
        ServiceUnavailableError.slug,
        ServiceUnavailableError.title,
        problem,
        headers={"Retry-After": str(ServiceUnavailableError.retry_after)},
    )


@router.get(
    "/metrics",
    name="read_metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    """Prometheus text; with `followup serve`'s worker, its metrics too (read from its
    process, or, on a thread of this one, its queue gauges read now)."""
    worker_text = None
    if request.app.state.worker_metrics is not None:
        worker_text = await request.app.state.worker_metrics()
    elif request.app.state.with_worker:
        await refresh_queue_gauges(request.app.state.sessionmaker)
    body, media_type = render_metrics(worker_text)
    return Response(body, media_type=media_type)
