"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api.idempotency import IdempotencyMiddleware
from app.api.middleware import (
    BodyLimitMiddleware,
    NulRefusalMiddleware,
    RequestContextMiddleware,
)
from app.api.openapi import SERVERS, TAGS, install_openapi, operation_id
from app.api.problems import install_problem_handlers
from app.api.ratelimit import RateLimitMiddleware, document_rate_limits
from app.api.reference import install_reference
from app.api.routes import (
    accounts,
    attempts,
    candidates,
    contacts,
    event_types,
    events,
    interviews,
    ops,
    policy,
    stream,
    webhooks,
    windows,
)
from app.db.notify import Wakeups
from app.db.session import create_engine, create_sessionmaker, reader
from app.policy.vocabulary import lexicon
from app.services.endpoints import WAKEUP_CHANNEL
from app.settings import Settings, get_settings
from app.worker.process import WorkerChild, WorkerThread

DESCRIPTION = """\
Helps job candidates follow up after an interview the right way: records contact
attempts, checks them against guidance on interview follow-up etiquette, opens
follow-up windows on time and notifies subscribers with signed webhooks.

- **Authentication**: `Authorization: Bearer <API key>` on every `/v1/` request.
- **Errors**: RFC 9457 `application/problem+json`; branch on `type`.
- **Idempotency**: send `Idempotency-Key` with any `POST` to make it safe to retry.
- **Lists**: `limit` and `cursor`; `created_after`, `created_before` and
  `updated_after` to keep a copy in sync.
- **Created resources**: `201` with `Location`.

The guide to all of this is `docs/api.md` in the repository.
"""

EXPOSED_HEADERS = (
    "Idempotent-Replayed",
    "Retry-After",
    "Location",
    "RateLimit",
    "RateLimit-Policy",
    "Secret-Omitted",
    "X-Request-ID",
)
"""Response headers a browser client may read (CORS `Access-Control-Expose-Headers`)."""


def settle_heap() -> None:
    """Load the proofreader's word lists at start-up rather than on the first evaluation,
    then put everything alive now out of the garbage collector's sight (`gc.freeze`).
    A full collection walked those lists for ~110 ms, a pause that every request in
    flight waited out: it was the p99 of every route under load."""
    lexicon()
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, *, with_worker: bool = False) -> FastAPI:
    """Build the app; `with_worker` runs the scheduler and dispatcher beside the API."""
    settings = settings or get_settings()
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        settings.secret_box()  # refuse to start without a key where one is required
        settle_heap()
        thread = child = None
        if with_worker and engine.dialect.name == "sqlite":
            thread = WorkerThread(settings)
            thread.start()
            _app.state.wake_worker = thread.wake  # no NOTIFY on SQLite
        elif with_worker:
            child = WorkerChild(settings)
            await child.start()
            _app.state.worker_metrics = child.read_metrics
        try:
            yield
        finally:
            if thread is not None:
                await asyncio.to_thread(thread.stop)
            if child is not None:
                await child.stop()
            await engine.dispose()

    app = FastAPI(
        title="followup",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=TAGS,
        servers=SERVERS,
        generate_unique_id_function=operation_id,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker
    app.state.read_sessionmaker = create_sessionmaker(reader(engine))
    app.state.with_worker = with_worker
    app.state.wake_worker = None
    """`followup serve` on SQLite: wakes its worker when a request commits events. Not on
    PostgreSQL, whose NOTIFY wakes it already (a second wake-up per event would cost the
    worker a second claim)."""
    app.state.worker_metrics = None
    """`followup serve` on PostgreSQL: reads the Prometheus text of its worker process,
    which `/metrics` shows beside the API's own."""
    app.state.stream_slots = stream.StreamSlots()
    app.state.stream_wakeups = Wakeups(engine, WAKEUP_CHANNEL)
    install_problem_handlers(app)
    for router in (
        ops.router,
        accounts.router,
        candidates.router,
        interviews.router,
        contacts.router,
        windows.router,
        attempts.router,
        policy.router,
        stream.router,  # before `events`: `/v1/events/stream` is not an event id
        events.router,
        event_types.router,
        webhooks.router,
    ):
        app.include_router(router)
    event_types.declare_webhooks(app)
    install_reference(app)
    install_openapi(app)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(NulRefusalMiddleware)
    app.add_middleware(RateLimitMiddleware, settings=settings)
    document_rate_limits(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=list(EXPOSED_HEADERS),
        )
    app.add_middleware(RequestContextMiddleware)
    return app
