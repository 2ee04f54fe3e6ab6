"""Webhook deliveries: what the API shows and re-queues, and the dispatcher's steps.

The dispatcher is three steps, each callable on its own (the worker only schedules
them): `claim_due` leases due deliveries (its caller commits that short transaction
before sending), `send_one` makes one signed HTTP attempt with no database work, and
`record_result` / `record_results` store outcomes in a new transaction, each only if its
lease is still ours. Like every service here they flush and never commit. A worker that
dies between the steps loses nothing: the lease ends and another worker claims the
delivery again.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import (
    CursorResult,
    Table,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.db.base import new_id, utcnow
from app.db.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.enums import DeliveryStatus, EventType
from app.errors import ConflictError, NotFoundError
from app.services.events import envelope, get_event, record_event
from app.services.pagination import PageRequest, paginate
from app.services.views import format_utc
from app.services.webhooks import get_endpoint, live_secrets, notify_workers, subscribes_to
from app.settings import Settings
from app.webhooks.retry import next_retry_delay, parse_retry_after
from app.webhooks.signing import webhook_headers
from app.webhooks.ssrf import Resolver, UnsafeURLError, build_pinned_request, resolve_and_check

MAX_LEASE = timedelta(seconds=60)
"""Contract: a lease lasts at most 60 s, so a killed worker's work resumes within a minute."""

RESPONSE_BODY_LIMIT = 1024
"""Bytes of each response kept in the attempt log."""

ATTEMPTS_SHOWN = 100
"""Most recent attempts returned with a delivery; older ones stay in the log."""

FAILING_DISABLE_AFTER = timedelta(days=5)
"""An endpoint whose every attempt has failed this long is disabled."""

USER_AGENT = "followup-webhooks/0.1"

CLAIM_SCAN_FACTOR = 4
CLAIM_SCAN_MAX = 1000
"""With a per-endpoint bound, a claim looks at up to 4 times as many due rows as it wants,
so deliveries to other endpoints are found behind one endpoint's backlog."""

# Literal, not a bound parameter: only then can PostgreSQL and SQLite match the partial
# "due" indexes (`WHERE status = 'pending'`) in prepared and cached statements.
_PENDING: ColumnElement[str] = literal_column("'pending'")


MAX_ATTEMPT_SECONDS = 50.0
"""An attempt must end inside its lease, so longer configured timeouts are cut to this."""


def attempt_timeout(settings: Settings) -> float:
    """Seconds one attempt may take: DNS, connect, send, response and its first 1 KiB."""
    return min(settings.webhook_timeout, MAX_ATTEMPT_SECONDS)


def lease_for(settings: Settings) -> timedelta:
    """Room for three attempt timeouts, at least 3 s and never more than 60 s.

    A worker starts an attempt only while a full timeout is left on its lease (and hands
    the delivery back otherwise), so a lease never ends under a running attempt; and a
    killed worker's deliveries are retried by others soon after.
    """
    return min(MAX_LEASE, timedelta(seconds=max(3.0, 3 * attempt_timeout(settings))))


# Reads and re-queueing (API) ----------------------------------------------------------


async def get_delivery(
    session: AsyncSession, account_id: str, delivery_id: str
) -> tuple[WebhookDelivery, list[WebhookAttempt]]:
    """A delivery with its most recent attempts, oldest first."""
    delivery = await session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.account_id == account_id
        )
    )
    if delivery is None:
        raise NotFoundError("No such webhook delivery.")
    recent = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery.id)
        .order_by(WebhookAttempt.attempted_at.desc(), WebhookAttempt.id.desc())
        .limit(ATTEMPTS_SHOWN)
    )
    return delivery, list(reversed(recent.all()))


async def list_endpoint_deliveries(
    session: AsyncSession,
    account_id: str,
    endpoint_id: str,
    page: PageRequest,
    status: DeliveryStatus | None = None,
) -> tuple[list[WebhookDelivery], str | None]:
    endpoint = await get_endpoint(session, account_id, endpoint_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status.value)
    return await paginate(
        session, stmt, page, sort=WebhookDelivery.created_at, tiebreak=WebhookDelivery.id
    )


async def send_test(session: AsyncSession, account_id: str, endpoint_id: str) -> WebhookDelivery:
    """Record a `webhook.test` event and queue it for this endpoint alone."""
    endpoint = await get_endpoint(session, account_id, endpoint_id)
    if not endpoint.enabled:
        raise ConflictError("This endpoint is disabled; enable it before sending a test.")
    event = await record_event(
        session,
        account_id,
        EventType.WEBHOOK_TEST,
        {"endpoint_id": endpoint.id, "message": "A test event sent from the followup API."},
    )
    delivery = WebhookDelivery(
        account_id=account_id,
        event_id=event.id,
        endpoint_id=endpoint.id,
        status=DeliveryStatus.PENDING.value,
        next_attempt_at=event.created_at,
    )
    session.add(delivery)
    await session.flush()
    await notify_workers(session)
    return delivery


async def redeliver(
    session: AsyncSession, account_id: str, event_id: str, endpoint_id: str | None
) -> list[WebhookDelivery]:
    """Queue an event again, for one endpoint or for every enabled endpoint that wants it.

    Without `endpoint_id` the targets are the enabled endpoints subscribed to the event's
    type, plus enabled endpoints that already have a delivery of it (a `webhook.test`, or
    a subscription changed since). Per target: no delivery yet → a new pending one; a
    finished one (succeeded or failed) → pending again with a fresh retry schedule
    (attempt_count 0; its attempt log is kept); a pending one → due now, unless a worker
    holds it at this moment, in which case that attempt already is the redelivery.
    """
    event = await get_event(session, account_id, event_id)
    now = utcnow()
    if endpoint_id is not None:
        endpoint = await get_endpoint(session, account_id, endpoint_id)
        if not endpoint.enabled:
            raise ConflictError("This endpoint is disabled; enable it before redelivering.")
        targets = [endpoint.id]
    else:
        already = select(WebhookDelivery.endpoint_id).where(WebhookDelivery.event_id == event.id)
        rows = await session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.event_types, WebhookEndpoint.id.in_(already))
            .where(WebhookEndpoint.account_id == account_id, WebhookEndpoint.enabled.is_(True))
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        )
        targets = [
            target
            for target, event_types, delivered in rows.all()
            if delivered
            or (event.type != EventType.WEBHOOK_TEST and subscribes_to(event_types, event.type))
        ]
    existing = {
        delivery.endpoint_id: delivery
        for delivery in (
            await session.scalars(
                select(WebhookDelivery).where(
                    WebhookDelivery.event_id == event.id,
                    WebhookDelivery.endpoint_id.in_(targets),
                )
            )
        ).all()
    }
    queued: list[WebhookDelivery] = []
    for target in targets:
        delivery = existing.get(target)
        if delivery is None:
            delivery = WebhookDelivery(
                account_id=account_id,
                event_id=event.id,
                endpoint_id=target,
                status=DeliveryStatus.PENDING.value,
                next_attempt_at=now,
            )
            session.add(delivery)
        elif delivery.status != DeliveryStatus.PENDING:
            delivery.status = DeliveryStatus.PENDING.value
            delivery.attempt_count = 0
            delivery.next_attempt_at = now
            delivery.locked_until = None
            delivery.lease_token = None
        elif delivery.locked_until is None or delivery.locked_until < now:
            delivery.next_attempt_at = now
        queued.append(delivery)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise ConflictError("This event is being redelivered by another request.") from exc
    await notify_workers(session)
    return queued


# The dispatcher's steps (worker) ------------------------------------------------------


@dataclass(frozen=True)
class WorkItem:
    """A leased delivery with everything needed to send it, detached from the session."""

    delivery_id: str
    lease_token: str
    locked_until: datetime
    endpoint_id: str
    url: str
    secrets: tuple[str, ...]
    event_id: str
    body: bytes
    attempt_number: int
    """1-based number of the attempt about to be made."""
    endpoint_failing: bool = False
    """The endpoint had a run of failures when this was claimed (a success must reset it)."""


@dataclass(frozen=True)
class AttemptResult:
    attempted_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    """Why the attempt failed when the status code alone does not say (or there is none)."""
    response_body: str | None
    retry_after: float | None
    """Seconds a 429/503 `Retry-After` asked for."""

    @property
    def succeeded(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        """410: the subscriber asks never to be called again."""
        return self.error is None and self.status_code == 410


def encode_body(event: Event) -> bytes:
    """The exact bytes that are signed and sent; identical on every retry."""
    return json.dumps(envelope(event), separators=(",", ":"), ensure_ascii=False).encode()


def _encode_envelope(event_id: str, event_type: str, created_at: datetime, data: Any) -> bytes:
    """`encode_body` from an event's columns (the same envelope, the same bytes)."""
    body = {"id": event_id, "type": event_type, "created_at": format_utc(created_at), "data": data}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


async def claim_due(
    session: AsyncSession,
    now: datetime,
    limit: int,
    lease: timedelta,
    *,
    per_endpoint: int | None = None,
    busy: Mapping[str, int] | None = None,
) -> list[WorkItem]:
    """Lease up to `limit` due deliveries of enabled endpoints, oldest due first.

    With `per_endpoint`, no endpoint gets more than that many, counting the `busy`
    attempts the caller already runs for it, so one endpoint's backlog cannot fill every
    slot. Candidates are picked without locks, then locked with `FOR UPDATE SKIP LOCKED`
    and re-checked, so concurrent workers claim disjoint rows (SQLite's single writer
    gives the same). The caller commits before sending, so the lease is visible to every
    other worker.
    """
    if limit <= 0:
        return []
    if lease > MAX_LEASE:
        raise ValueError("a lease lasts at most 60 s")
    running = dict(busy or {})
    candidates = (
        select(_DELIVERIES.c.id, _DELIVERIES.c.endpoint_id)
        .join(_ENDPOINTS, _ENDPOINTS.c.id == _DELIVERIES.c.endpoint_id)
        .where(*_due(now))
        .order_by(_DELIVERIES.c.next_attempt_at)
        .limit(limit if per_endpoint is None else min(limit * CLAIM_SCAN_FACTOR, CLAIM_SCAN_MAX))
    )
    if per_endpoint is not None:
        full = [endpoint for endpoint, count in running.items() if count >= per_endpoint]
        if full:
            candidates = candidates.where(_DELIVERIES.c.endpoint_id.not_in(full))
    picked: list[str] = []
    for delivery_id, endpoint_id in (await session.execute(candidates)).all():
        if per_endpoint is not None:
            if running.get(endpoint_id, 0) >= per_endpoint:
                continue
            running[endpoint_id] = running.get(endpoint_id, 0) + 1
        picked.append(delivery_id)
        if len(picked) == limit:
            break
    if not picked:
        return []
    token = secrets.token_hex(16)
    locked_until = now + lease
    if session.get_bind().dialect.name == "postgresql":
        rows = await _lease_returning(session, picked, now, locked_until, token)
    else:
        rows = await _lease_then_update(session, picked, now, locked_until, token)
    if not rows:
        return []
    order = {delivery_id: index for index, delivery_id in enumerate(picked)}
    items = [
        WorkItem(
            delivery_id=delivery_id,
            lease_token=token,
            locked_until=locked_until,
            endpoint_id=endpoint_id,
            url=url,
            secrets=live_secrets(secret, previous, expires, now),
            event_id=event_id,
            body=_encode_envelope(event_id, event_type, created_at, data),
            attempt_number=attempts + 1,
            endpoint_failing=failing_since is not None,
        )
        for (
            delivery_id,
            attempts,
            endpoint_id,
            url,
            secret,
            previous,
            expires,
            failing_since,
            event_id,
            event_type,
            created_at,
            data,
        ) in rows
    ]
    return sorted(items, key=lambda item: order[item.delivery_id])


_DELIVERIES = cast(Table, WebhookDelivery.__table__)
_ENDPOINTS = cast(Table, WebhookEndpoint.__table__)
_EVENTS = cast(Table, Event.__table__)
_ATTEMPTS = cast(Table, WebhookAttempt.__table__)

_CLAIMED_COLUMNS = (
    _DELIVERIES.c.id,
    _DELIVERIES.c.attempt_count,
    _ENDPOINTS.c.id,
    _ENDPOINTS.c.url,
    _ENDPOINTS.c.secret,
    _ENDPOINTS.c.previous_secret,
    _ENDPOINTS.c.previous_secret_expires_at,
    _ENDPOINTS.c.failing_since,
    _EVENTS.c.id,
    _EVENTS.c.type,
    _EVENTS.c.created_at,
    _EVENTS.c.data,
)
"""What a claim reads per delivery: its row, its endpoint's and its event's (Core columns,
so no ORM objects are built for rows that are only sent)."""


def _due(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Pending, due, not leased by a live worker, to an enabled endpoint."""
    return (
        _DELIVERIES.c.status == _PENDING,
        _DELIVERIES.c.next_attempt_at <= now,
        or_(_DELIVERIES.c.locked_until.is_(None), _DELIVERIES.c.locked_until < now),
        _ENDPOINTS.c.enabled.is_(True),
    )


async def _lease_returning(
    session: AsyncSession, picked: list[str], now: datetime, locked_until: datetime, token: str
) -> Sequence[Any]:
    """PostgreSQL: lock (`SKIP LOCKED`, re-checked), lease and read in one round trip."""
    locked = (
        select(_DELIVERIES.c.id)
        .join(_ENDPOINTS, _ENDPOINTS.c.id == _DELIVERIES.c.endpoint_id)
        .where(_DELIVERIES.c.id.in_(picked), *_due(now))
        .with_for_update(skip_locked=True, of=_DELIVERIES)
    )
    result = await session.execute(
        update(_DELIVERIES)
        .where(
            _DELIVERIES.c.id.in_(locked.scalar_subquery()),
            _ENDPOINTS.c.id == _DELIVERIES.c.endpoint_id,
            _EVENTS.c.id == _DELIVERIES.c.event_id,
        )
        .values(locked_until=locked_until, lease_token=token)
        .returning(*_CLAIMED_COLUMNS)
    )
    return result.all()


async def _lease_then_update(
    session: AsyncSession, picked: list[str], now: datetime, locked_until: datetime, token: str
) -> Sequence[Any]:
    """Elsewhere (SQLite: one writer, so nothing to skip): read the due rows, then lease."""
    rows = (
        await session.execute(
            select(*_CLAIMED_COLUMNS)
            .join(_ENDPOINTS, _ENDPOINTS.c.id == _DELIVERIES.c.endpoint_id)
            .join(_EVENTS, _EVENTS.c.id == _DELIVERIES.c.event_id)
            .where(_DELIVERIES.c.id.in_(picked), *_due(now))
            .with_for_update(skip_locked=True, of=_DELIVERIES)
        )
    ).all()
    if rows:
        await session.execute(
            update(_DELIVERIES)
            .where(_DELIVERIES.c.id.in_([row[0] for row in rows]))
            .values(locked_until=locked_until, lease_token=token)
        )
    return rows


async def release(session: AsyncSession, items: Sequence[WorkItem]) -> None:
    """Give back leases of items that were never sent, so any worker may claim them now."""
    by_token: dict[str, list[str]] = {}
    for item in items:
        by_token.setdefault(item.lease_token, []).append(item.delivery_id)
    for token, ids in by_token.items():
        await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids), WebhookDelivery.lease_token == token)
            .values(locked_until=None, lease_token=None),
            execution_options={"synchronize_session": False},
        )


async def _read_prefix(response: httpx.Response, limit: int) -> str:
    """The first `limit` bytes of the body; the rest is never downloaded."""
    received = bytearray()
    async for chunk in response.aiter_raw():
        received += chunk
        if len(received) >= limit:
            break
    return bytes(received[:limit]).decode("utf-8", errors="replace")


async def send_one(
    client: httpx.AsyncClient,
    item: WorkItem,
    settings: Settings,
    *,
    resolver: Resolver | None = None,
) -> AttemptResult:
    """One signed POST, re-checked by the SSRF guard and pinned to the checked address.

    Never raises for the receiver's or the network's faults: they become the result's
    `error`. The whole attempt (DNS, connect, response, first 1 KiB) shares one timeout.
    """
    attempted_at = utcnow()
    started = time.perf_counter()
    status_code: int | None = None
    error: str | None = None
    body: str | None = None
    retry_after: float | None = None
    timeout = attempt_timeout(settings)
    try:
        async with asyncio.timeout(timeout):
            target = await resolve_and_check(
                item.url, allow_private=settings.webhook_allow_private, resolver=resolver
            )
            headers = webhook_headers(
                item.event_id, int(attempted_at.timestamp()), item.body, item.secrets
            )
            headers["user-agent"] = USER_AGENT
            # Raw bytes are logged: no compression, so a small reply cannot inflate.
            headers["accept-encoding"] = "identity"
            for index, address in enumerate(target.addresses):
                request = build_pinned_request(
                    client,
                    "POST",
                    item.url,
                    target=target,
                    headers=headers,
                    content=item.body,
                    address=address,
                )
                try:
                    response = await client.send(request, stream=True, follow_redirects=False)
                except httpx.ConnectError:
                    if index + 1 < len(target.addresses):
                        continue
                    raise
                try:
                    status_code = response.status_code
                    if response.is_redirect:
                        error = "redirect not followed"
                    if status_code in (429, 503):
                        retry_after = parse_retry_after(
                            response.headers.get("retry-after"), attempted_at
                        )
                    body = await _read_prefix(response, RESPONSE_BODY_LIMIT)
                finally:
                    await response.aclose()
                break
    except TimeoutError:
        error = f"timed out after {timeout:g} s"
    except UnsafeURLError as exc:
        error = f"refused by the SSRF guard: {exc}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    duration_ms = round((time.perf_counter() - started) * 1000)
    return AttemptResult(
        attempted_at=attempted_at,
        duration_ms=duration_ms,
        status_code=status_code,
        error=error[:1000] if error else None,
        response_body=body,
        retry_after=retry_after,
    )


@dataclass(frozen=True)
class Outcome:
    status: DeliveryStatus
    next_attempt_at: datetime | None
    endpoint_disabled: bool
    """True when this result (a 410, or 5 days of failures) disabled the endpoint."""


def _next_state(
    item: WorkItem, result: AttemptResult, settings: Settings, now: datetime, rng: random.Random
) -> tuple[DeliveryStatus, datetime | None]:
    if result.succeeded:
        return DeliveryStatus.SUCCEEDED, None
    if result.gone:
        return DeliveryStatus.FAILED, None
    delay = next_retry_delay(
        item.attempt_number, settings.webhook_retry_schedule, rng, result.retry_after
    )
    if delay is None:
        return DeliveryStatus.FAILED, None
    return DeliveryStatus.PENDING, now + timedelta(seconds=delay)


async def record_result(
    session: AsyncSession,
    item: WorkItem,
    result: AttemptResult,
    settings: Settings,
    now: datetime,
    rng: random.Random,
) -> Outcome | None:
    """`record_results` for a single attempt."""
    [outcome] = await record_results(session, [(item, result)], settings, now, rng)
    return outcome


async def record_results(
    session: AsyncSession,
    results: Sequence[tuple[WorkItem, AttemptResult]],
    settings: Settings,
    now: datetime,
    rng: random.Random,
) -> list[Outcome | None]:
    """Log attempts and move their deliveries on, in the caller's one transaction.

    An entry whose lease is no longer ours (another worker owns the delivery now) gets
    None and writes nothing. Otherwise: 2xx → succeeded; 410 → failed at once and the
    endpoint disabled; anything else → the next try per the schedule (a 429/503
    `Retry-After` as a minimum), or failed when the schedule is spent; an endpoint that
    has failed every attempt for 5 days is disabled. A batch costs a handful of
    statements whatever its size, which is what lets one worker keep up with its HTTP.
    """
    if not results:
        return []
    if session.get_bind().dialect.name == "postgresql":
        outcomes, owned = await _record_returning(session, results, settings, now, rng)
    else:
        outcomes, owned = await _record_locked(session, results, settings, now, rng)
    if not owned:
        return outcomes
    disabled = await _update_endpoint_health(session, owned, now)
    return [
        replace(outcome, endpoint_disabled=True)
        if outcome is not None and item.endpoint_id in disabled and not result.succeeded
        else outcome
        for (item, result), outcome in zip(results, outcomes, strict=True)
    ]


def _attempt_row(item: WorkItem, result: AttemptResult) -> dict[str, Any]:
    return {
        "id": new_id("wat"),
        "delivery_id": item.delivery_id,
        "attempted_at": result.attempted_at,
        "duration_ms": result.duration_ms,
        "status_code": result.status_code,
        "error": result.error,
        "response_body": result.response_body,
    }


_RECORD_SQL = text(
    """
WITH v AS (
    SELECT * FROM unnest(
        CAST(:ids AS varchar[]), CAST(:tokens AS varchar[]), CAST(:statuses AS varchar[]),
        CAST(:attempt_counts AS integer[]), CAST(:next_attempts AS timestamptz[]),
        CAST(:attempted AS timestamptz[]), CAST(:attempt_ids AS varchar[]),
        CAST(:durations AS integer[]), CAST(:status_codes AS integer[]),
        CAST(:errors AS varchar[]), CAST(:bodies AS text[])
    ) AS v(id, token, status, attempt_count, next_attempt_at, attempted_at, attempt_id,
           duration_ms, status_code, error, response_body)
), moved AS (
    UPDATE webhook_deliveries AS d
    SET status = v.status, attempt_count = v.attempt_count,
        next_attempt_at = v.next_attempt_at, locked_until = NULL, lease_token = NULL,
        last_attempt_at = v.attempted_at, updated_at = :now
    FROM v
    WHERE d.id = v.id AND d.lease_token = v.token
    RETURNING d.id, v.token
), logged AS (
    INSERT INTO webhook_attempts
        (id, delivery_id, attempted_at, duration_ms, status_code, error, response_body)
    SELECT v.attempt_id, v.id, v.attempted_at, v.duration_ms, v.status_code, v.error,
           v.response_body
    FROM v JOIN moved ON moved.id = v.id AND moved.token = v.token
)
SELECT id, token FROM moved
"""
)
"""PostgreSQL: the lease check, the delivery update and the attempt log of a whole batch in
one statement. A row whose token is no longer ours matches nothing (the UPDATE waits for a
concurrent holder and re-checks the token, as `SELECT … FOR UPDATE` did), and only the
deliveries it moved get an attempt row."""


async def _record_returning(
    session: AsyncSession,
    results: Sequence[tuple[WorkItem, AttemptResult]],
    settings: Settings,
    now: datetime,
    rng: random.Random,
) -> tuple[list[Outcome | None], list[tuple[WorkItem, AttemptResult]]]:
    states = [_next_state(item, result, settings, now, rng) for item, result in results]
    attempts = [_attempt_row(item, result) for item, result in results]
    moved = await session.execute(
        _RECORD_SQL,
        {
            "ids": [item.delivery_id for item, _ in results],
            "tokens": [item.lease_token for item, _ in results],
            "statuses": [status.value for status, _ in states],
            "attempt_counts": [item.attempt_number for item, _ in results],
            "next_attempts": [next_attempt_at for _, next_attempt_at in states],
            "attempted": [result.attempted_at for _, result in results],
            "attempt_ids": [row["id"] for row in attempts],
            "durations": [result.duration_ms for _, result in results],
            "status_codes": [result.status_code for _, result in results],
            "errors": [result.error for _, result in results],
            "bodies": [result.response_body for _, result in results],
            "now": now,
        },
    )
    ours = set(moved.tuples().all())
    outcomes: list[Outcome | None] = []
    owned: list[tuple[WorkItem, AttemptResult]] = []
    for (item, result), (status, next_attempt_at) in zip(results, states, strict=True):
        if (item.delivery_id, item.lease_token) in ours:
            owned.append((item, result))
            outcomes.append(Outcome(status, next_attempt_at, endpoint_disabled=False))
        else:
            outcomes.append(None)
    return outcomes, owned


async def _record_locked(
    session: AsyncSession,
    results: Sequence[tuple[WorkItem, AttemptResult]],
    settings: Settings,
    now: datetime,
    rng: random.Random,
) -> tuple[list[Outcome | None], list[tuple[WorkItem, AttemptResult]]]:
    """Elsewhere: lock the rows, compare tokens, then update and log in bulk."""
    locked = await session.execute(
        select(_DELIVERIES.c.id, _DELIVERIES.c.lease_token)
        .where(_DELIVERIES.c.id.in_([item.delivery_id for item, _ in results]))
        .with_for_update()
    )
    holder = dict(locked.tuples().all())
    outcomes: list[Outcome | None] = []
    rows: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []
    owned: list[tuple[WorkItem, AttemptResult]] = []
    for item, result in results:
        if holder.get(item.delivery_id) != item.lease_token:
            outcomes.append(None)
            continue
        status, next_attempt_at = _next_state(item, result, settings, now, rng)
        rows.append(
            {
                "id": item.delivery_id,
                "status": status.value,
                "attempt_count": item.attempt_number,
                "next_attempt_at": next_attempt_at,
                "locked_until": None,
                "lease_token": None,
                "last_attempt_at": result.attempted_at,
                "updated_at": now,
            }
        )
        attempts.append(_attempt_row(item, result))
        owned.append((item, result))
        outcomes.append(Outcome(status, next_attempt_at, endpoint_disabled=False))
    if rows:
        await session.execute(update(WebhookDelivery), rows)
        await session.execute(insert(_ATTEMPTS), attempts)
    return outcomes, owned


async def _update_endpoint_health(
    session: AsyncSession, results: Sequence[tuple[WorkItem, AttemptResult]], now: datetime
) -> set[str]:
    """Track each endpoint's run of failures; returns the endpoints this batch disabled.

    Conditional UPDATEs, endpoint by endpoint in id order, so concurrent writers never
    overwrite each other's view of an endpoint nor deadlock on it. A success resets the
    run only if the endpoint looked failing when its delivery was claimed: a failure
    recorded since then is reset by the next delivery claimed after it.
    """
    by_endpoint: dict[str, list[tuple[WorkItem, AttemptResult]]] = {}
    for item, result in results:
        by_endpoint.setdefault(item.endpoint_id, []).append((item, result))
    disabled: set[str] = set()
    options = {"synchronize_session": False}
    for endpoint_id in sorted(by_endpoint):
        entries = sorted(by_endpoint[endpoint_id], key=lambda entry: entry[1].attempted_at)
        endpoint = WebhookEndpoint.id == endpoint_id
        successes = [result.attempted_at for _, result in entries if result.succeeded]
        if successes and any(item.endpoint_failing for item, _ in entries):
            await session.execute(
                update(WebhookEndpoint)
                .where(endpoint, WebhookEndpoint.failing_since.is_not(None))
                .values(failing_since=None),
                execution_options=options,
            )
        last_success = max(successes, default=None)
        failures = [
            result
            for _, result in entries
            if not result.succeeded and (last_success is None or result.attempted_at > last_success)
        ]
        if not failures:
            continue
        await session.execute(
            update(WebhookEndpoint)
            .where(endpoint, WebhookEndpoint.failing_since.is_(None))
            .values(failing_since=failures[0].attempted_at),
            execution_options=options,
        )
        gone = [result for result in failures if result.gone]
        if gone:
            reason = f"The endpoint answered 410 Gone at {format_utc(gone[0].attempted_at)}."
            condition: ColumnElement[bool] = WebhookEndpoint.enabled.is_(True)
        else:
            reason = "Every delivery attempt has failed for 5 days."
            condition = WebhookEndpoint.enabled.is_(True) & (
                WebhookEndpoint.failing_since <= now - FAILING_DISABLE_AFTER
            )
        changed = cast(
            CursorResult[Any],
            await session.execute(
                update(WebhookEndpoint)
                .where(endpoint, condition)
                .values(enabled=False, disabled_reason=reason),
                execution_options=options,
            ),
        )
        if changed.rowcount == 1:
            disabled.add(endpoint_id)
    return disabled


async def next_delivery_due(session: AsyncSession, now: datetime) -> datetime | None:
    """When the next scheduled retry falls due (after `now`), so the worker can wake then."""
    return await session.scalar(
        select(func.min(WebhookDelivery.next_attempt_at)).where(
            WebhookDelivery.status == _PENDING, WebhookDelivery.next_attempt_at > now
        )
    )


async def prune_history(session: AsyncSession, cutoff: datetime, batch: int) -> int:
    """Delete up to `batch` events older than `cutoff`, with their deliveries and attempts.

    An event still being retried for an enabled endpoint is kept until its delivery ends;
    pending deliveries to disabled endpoints are dropped with their old event.
    """
    retrying = exists().where(
        WebhookDelivery.event_id == Event.id,
        WebhookDelivery.status == _PENDING,
        WebhookEndpoint.id == WebhookDelivery.endpoint_id,
        WebhookEndpoint.enabled.is_(True),
    )
    ids = (
        await session.scalars(
            select(Event.id)
            .where(Event.created_at < cutoff, ~retrying)
            .order_by(Event.created_at)
            .limit(batch)
            .with_for_update(skip_locked=True, of=Event)
        )
    ).all()
    if not ids:
        return 0
    await session.execute(
        delete(Event).where(Event.id.in_(ids)), execution_options={"synchronize_session": False}
    )
    return len(ids)
