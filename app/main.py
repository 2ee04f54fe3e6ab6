"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api.middleware import (
    BodyLimitMiddleware,
    IdempotencyMiddleware,
    MetricsMiddleware,
    NulRefusalMiddleware,
)
from app.api.problems import install_problem_handlers
from app.api.ratelimit import RateLimitMiddleware, document_rate_limits
from app.api.routes import (
    accounts,
    attempts,
    candidates,
    contacts,
    events,
    interviews,
    ops,
    policy,
    webhooks,
    windows,
)
from app.db.session import create_engine, create_sessionmaker
from app.settings import Settings, get_settings
from app.worker.runner import Worker

DESCRIPTION = """\
Helps job candidates follow up after an interview the right way: records contact
attempts, checks them against guidance on interview follow-up etiquette, opens
follow-up windows on time and notifies subscribers with signed webhooks.
"""


def create_app(settings: Settings | None = None, *, with_worker: bool = False) -> FastAPI:
    """Build the app; `with_worker` runs the scheduler and dispatcher beside the API."""
    settings = settings or get_settings()
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker = Worker(settings, sessionmaker) if with_worker else None
        task = asyncio.create_task(worker.run()) if worker else None
        try:
            yield
        finally:
            if worker and task:
                worker.stop()
                await task
            await engine.dispose()

    app = FastAPI(
        title="followup",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker
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
        events.router,
        webhooks.router,
    ):
        app.include_router(router)
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
        )
    app.add_middleware(MetricsMiddleware)
    return app
