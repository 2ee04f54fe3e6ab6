"""Unauthenticated operational endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.api.problems import problem_response
from app.errors import ServiceUnavailableError
from app.services.readiness import check_ready

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={
        503: {
            "description": "service-unavailable: the database is unreachable or not migrated",
            "content": {"application/problem+json": {}},
        }
    },
)
async def readyz(request: Request) -> JSONResponse:
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


@router.get("/metrics", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
