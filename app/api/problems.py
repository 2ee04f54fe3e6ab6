"""RFC 9457 problem+json rendering for every error the API returns."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.db.faults import database_unavailable
from app.errors import AppError, ServiceUnavailableError

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "rate-limited",
}


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    extra: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def app_error_response(exc: AppError) -> JSONResponse:
    headers: dict[str, str] | None = None
    if exc.status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    elif isinstance(exc, ServiceUnavailableError):
        headers = {"Retry-After": str(exc.retry_after)}
    return problem_response(exc.status, exc.slug, exc.title, exc.detail, exc.extra(), headers)


UNAVAILABLE = ServiceUnavailableError(
    "The database cannot be reached right now; retry after the time in Retry-After."
)


def unavailable_response() -> JSONResponse:
    return app_error_response(UNAVAILABLE)


def _loc(loc: tuple[int | str, ...]) -> list[int | str]:
    return list(loc)


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return app_error_response(exc)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": _loc(tuple(err["loc"])), "msg": err["msg"]} for err in exc.errors()]
    count = len(errors)
    detail = f"The request has {count} invalid field{'s' if count != 1 else ''}."
    return problem_response(422, "validation-error", "Validation error", detail, {"errors": errors})


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    slug = _SLUGS.get(status, "error" if status < 500 else "internal-error")
    title = HTTPStatus(status).phrase
    detail = exc.detail if isinstance(exc.detail, str) else title
    return problem_response(status, slug, title, detail, headers=exc.headers)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if database_unavailable(exc):
        logger.warning("database unavailable: %s", type(exc).__name__)
        return unavailable_response()
    return await _unhandled(request, exc)


async def _unhandled(_request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return problem_response(
        500, "internal-error", "Internal server error", "An unexpected error occurred."
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for fault in (DBAPIError, PoolTimeout, OSError, TimeoutError):
        app.add_exception_handler(fault, _database_error)
    app.add_exception_handler(Exception, _unhandled)
