"""Request dependencies: the clock, the transaction-owning session, the caller (an
account or the operator), paging, and the DNS resolver for webhook URL checks.

Tests replace any of them with `app.dependency_overrides` (freeze `get_now`, swap
`get_resolver`), never by poking `app.state`.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.openapi import ADMIN_TOKEN_SCHEME
from app.clock import utcnow
from app.db.models import Account, Interview
from app.db.session import NOW, PRELOADED, WROTE_EVENTS
from app.db.sql import DEFERRED
from app.errors import AppError, NotFoundError, UnauthorizedError
from app.schemas.common import Cursor, InputDatetime, Limit
from app.services import accounts as account_service
from app.services import idempotency
from app.services import interviews as interview_service
from app.services.pagination import PageRequest
from app.settings import Settings
from app.webhooks.ssrf import Resolver

T = TypeVar("T")

ResourceId = Annotated[str, Path(min_length=1, max_length=64, description="An opaque id.")]
"""A resource id in a path: bounded like every other input."""


async def get_now() -> datetime:
    """The request's one reading of the clock; every timestamp it writes comes from it.

    Dependencies here are `async def`: a plain `def` would cost each request a hop
    through the thread pool."""
    return utcnow()


NowDep = Annotated[datetime, Depends(get_now)]


async def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(app_settings)]


READS_ONLY = "followup_reads_only"
"""Attribute `reads_only` sets on a route function that writes nothing (a POST too)."""


def reads_only(endpoint: T) -> T:
    """Mark a route that writes nothing: its session reads through the reading engine
    (no write lock on SQLite, no BEGIN/COMMIT round trips on PostgreSQL)."""
    setattr(endpoint, READS_ONLY, True)
    return endpoint


WRITES_ONCE = "followup_writes_once"
"""Attribute `writes_once` sets on a route function whose changes are one statement."""


def writes_once(endpoint: T) -> T:
    """Mark a route whose changes go to the database as one statement on PostgreSQL
    (`app.db.sql.write_together`: the row, its events and deliveries, the NOTIFY). One
    statement is atomic on its own, so there it runs without BEGIN/COMMIT round trips,
    as the reads do; under an `Idempotency-Key` the key's record joins that statement
    (`app.db.sql.DEFERRED`). On SQLite, where those writes are several statements, the
    route keeps its transaction."""
    setattr(endpoint, WRITES_ONCE, True)
    return endpoint


COMPANION = "followup_companion"
"""Attribute `with_companion` sets on a route function: statements to read with the caller."""


def with_companion(parts: account_service.Companion) -> Callable[[T], T]:
    """Mark a route under `/v1/interviews/{interview_id}` whose service reads `parts` first
    (an attempt's history): `get_account` reads them in the caller's round trip and leaves
    the rows in `session.info[PRELOADED]`, where the service looks before it queries."""

    def mark(endpoint: T) -> T:
        setattr(endpoint, COMPANION, parts)
        return endpoint

    return mark


SESSION_STATE = "followup.session"
"""`request.state` key: a session (with its open transaction) that the idempotency
middleware owns; the route works in it and the middleware commits it."""
IDEMPOTENCY_STATE = "followup.idempotency"
"""`request.state` key: the request's `KeyClaim`, for `get_account` to look up."""
OUTCOME = "followup.outcome"
"""`session.info` key: "commit" or "rollback", what the route's outcome asks of a
transaction it does not own."""


@dataclass
class KeyClaim:
    """An account's request sent with an `Idempotency-Key`, as the idempotency middleware
    hands it to `get_account`: the key's record is read with the caller, and `owner`
    says whose key it is once the caller is known."""

    key: str
    fingerprint: str
    now: datetime
    owner: str | None = None


class Replay(Exception):
    """Raised by `get_account` when the key already holds a response: the idempotency
    middleware catches it and sends that response instead of running the route."""

    def __init__(self, stored: idempotency.StoredResponse) -> None:
        super().__init__("replay")
        self.stored = stored


def committed(app: FastAPI, session: AsyncSession) -> None:
    """After a commit: when it published events, wake the worker of this process
    (`followup serve` on SQLite); elsewhere workers hear PostgreSQL's NOTIFY or poll."""
    wake = app.state.wake_worker
    if wake is not None and session.info.pop(WROTE_EVENTS, False):
        wake()


def _wants_commit(exc: BaseException | None) -> bool:
    return exc is None or (isinstance(exc, AppError) and exc.keeps_changes)


async def get_session(request: Request, now: NowDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit on success, roll back on any error, except
    an error that records a change itself (`AppError.keeps_changes`): that commits.

    GET and HEAD, and routes marked `reads_only` (and on PostgreSQL `writes_once`), use
    the reading engine (`app.db.session.reader`): no write lock, no BEGIN/COMMIT round
    trips. Under an `Idempotency-Key` the middleware owns the transaction (it stores the
    response in it before committing); the outcome is then left for it in
    `session.info[OUTCOME]`.
    """
    shared: AsyncSession | None = getattr(request.state, SESSION_STATE, None)
    endpoint = getattr(request.scope.get("route"), "endpoint", None)
    state = request.app.state
    writes_once_here = (
        getattr(endpoint, WRITES_ONCE, False) and state.engine.dialect.name == "postgresql"
    )
    if shared is not None:
        if writes_once_here:
            # The middleware sends the change with the key's record, as one statement
            # (`app.db.sql.DEFERRED`): no BEGIN/COMMIT round trips here either.
            await shared.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            shared.info[DEFERRED] = []
        try:
            yield shared
        except BaseException as exc:
            shared.info[OUTCOME] = "commit" if _wants_commit(exc) else "rollback"
            raise
        shared.info[OUTCOME] = "commit"
        return
    reading = (
        request.method in ("GET", "HEAD")
        or getattr(endpoint, READS_ONLY, False)
        or writes_once_here
    )
    factory: async_sessionmaker[AsyncSession] = (
        state.read_sessionmaker if reading else state.sessionmaker
    )
    if reading and not writes_once_here and state.engine.dialect.name == "postgresql":
        # Autocommit: each statement runs on its own and a read changes nothing, so
        # there is nothing to begin or commit (each cost the session a greenlet hop).
        async with factory() as session:
            session.info[NOW] = now
            yield session
        return
    async with factory() as session:
        session.info[NOW] = now
        transaction = await session.begin()
        try:
            yield session
        except BaseException as exc:
            if _wants_commit(exc):
                await transaction.commit()
                committed(request.app, session)
            else:
                await transaction.rollback()
            raise
        await transaction.commit()
        committed(request.app, session)


# "function" scope: commit before the response is sent, not after.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An account's API key: `Authorization: Bearer fu_...`.",
)
_admin_bearer = HTTPBearer(
    auto_error=False,
    scheme_name=ADMIN_TOKEN_SCHEME,
    description="The operator's `FOLLOWUP_ADMIN_TOKEN`.",
)


INTERVIEW_STATE = "followup.interview"
"""`request.state` key: (interview id, the account's interview or None), loaded with the
account by `get_account` for a path that names an interview."""


async def get_account(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Account:
    """The caller's account, loaded in one round trip with what the request needs first:
    under `/v1/interviews/{interview_id}` the interview (for `get_interview` to take),
    and under an `Idempotency-Key` the key's record (a stored response is replayed)."""
    if credentials is None:
        raise UnauthorizedError("Send an API key as `Authorization: Bearer <key>`.")
    interview_id = request.path_params.get("interview_id")
    if not isinstance(interview_id, str):
        interview_id = None
        companion: account_service.Companion = ()
    else:
        endpoint = getattr(request.scope.get("route"), "endpoint", None)
        companion = getattr(endpoint, COMPANION, ())
    claim: KeyClaim | None = getattr(request.state, IDEMPOTENCY_STATE, None)
    caller = await account_service.identify(
        session,
        credentials.credentials,
        interview_id=interview_id,
        idempotency_key=claim.key if claim is not None else None,
        companion=companion,
    )
    if interview_id is not None:
        setattr(request.state, INTERVIEW_STATE, (interview_id, caller.interview))
        if companion:
            session.info[PRELOADED] = (interview_id, caller.companion)
    if claim is not None:
        stored = await idempotency.replay_of(
            session, caller.account.id, claim.key, caller.key_record, claim.fingerprint, claim.now
        )
        if stored is not None:
            raise Replay(stored)
        claim.owner = caller.account.id
    return caller.account


AccountDep = Annotated[Account, Depends(get_account)]


async def get_credential(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> account_service.Credential:
    """The caller's API key, not checked yet, for a list that authenticates in its own
    statement (`accounts.identify` with a companion): one round trip, not two. A
    missing key is 401 here; an unknown or revoked one, 401 from the list."""
    if credentials is None:
        raise UnauthorizedError("Send an API key as `Authorization: Bearer <key>`.")
    return account_service.Credential(credentials.credentials)


CredentialDep = Annotated[account_service.Credential, Depends(get_credential)]


async def require_admin(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_admin_bearer)],
) -> None:
    """The operator's token, or 404: without it the admin routes look absent."""
    token = settings.admin_token.get_secret_value() if settings.admin_token else ""
    given = credentials.credentials if credentials else ""
    if not token or not hmac.compare_digest(token.encode(), given.encode()):
        raise NotFoundError("Not found.")


AdminDep = Annotated[None, Depends(require_admin)]


async def get_interview(
    request: Request, session: SessionDep, account: AccountDep, interview_id: ResourceId
) -> Interview:
    loaded: tuple[str, Interview | None] | None = getattr(request.state, INTERVIEW_STATE, None)
    if loaded is not None and loaded[0] == interview_id:
        if loaded[1] is None:
            raise NotFoundError("No such interview.")
        return loaded[1]
    return await interview_service.get_interview(session, account.id, interview_id)


InterviewDep = Annotated[Interview, Depends(get_interview)]


LimitQuery = Annotated[Limit, Query(description="Items per page, 1 to 200.")]
CursorQuery = Annotated[
    Cursor | None,
    Query(description="`next_cursor` of the previous page; omit for the first page."),
]
CreatedAfter = Annotated[
    InputDatetime | None,
    Query(
        description="Only items created after this instant (exclusive). RFC 3339 with an "
        "offset; encode `+` as `%2B` in a URL, or use `Z`."
    ),
]
CreatedBefore = Annotated[
    InputDatetime | None,
    Query(
        description="Only items created before this instant (exclusive). RFC 3339 with an offset."
    ),
]
UpdatedAfter = Annotated[
    InputDatetime | None,
    Query(
        description="Only items changed after this instant (exclusive): pass the latest "
        "`updated_at` seen to fetch what changed since. RFC 3339 with an offset."
    ),
]


async def get_page(limit: LimitQuery = 50, cursor: CursorQuery = None) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor)


PageDep = Annotated[PageRequest, Depends(get_page)]


async def get_resolver() -> Resolver | None:
    """The DNS resolver for webhook URL checks: None means the system's."""
    return None


ResolverDep = Annotated[Resolver | None, Depends(get_resolver)]


async def get_sync_page(
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    created_after: CreatedAfter = None,
    created_before: CreatedBefore = None,
    updated_after: UpdatedAfter = None,
) -> PageRequest:
    """A page of a list that clients keep in sync: by creation time and by last change."""
    return PageRequest(
        limit=limit,
        cursor=cursor,
        created_after=created_after,
        created_before=created_before,
        updated_after=updated_after,
    )


SyncPageDep = Annotated[PageRequest, Depends(get_sync_page)]


async def get_event_page(
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    created_after: CreatedAfter = None,
    created_before: CreatedBefore = None,
) -> PageRequest:
    """Events never change, so they are only filtered by creation time."""
    return PageRequest(
        limit=limit, cursor=cursor, created_after=created_after, created_before=created_before
    )


EventPageDep = Annotated[PageRequest, Depends(get_event_page)]
