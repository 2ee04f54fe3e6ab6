"""The delivery lease protocol: claim due deliveries, hand back unsent ones, record
results. Any number of workers share it on PostgreSQL; a killed one loses nothing.

A claim leases rows in one UPDATE that commits before sending (so every other worker
sees the lease); the attempt happens outside any transaction (`app.webhooks.sender`);
its result is stored later, only if the lease is still ours. A lease lasts at most
60 s, so a dead worker's deliveries come back within a minute.

The two databases differ in a few places. PostgreSQL locks the rows it reads
(`_locked`: `FOR UPDATE`, skipping rows another worker holds while claiming); SQLite
has no row locks and needs none, because its write transaction (`BEGIN IMMEDIATE`)
already holds the database's single writer lock. PostgreSQL takes a list of ids as one
array parameter (`_listed_pg`), and stores a batch of successes in one statement
(`writes_once`); SQLite runs the general form, several statements in one transaction."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    CursorResult,
    Integer,
    Select,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.clock import format_utc
from app.crypto import SecretBox
from app.db.base import new_id
from app.db.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.enums import DeliveryStatus
from app.schemas.events import encode_envelope
from app.services.endpoints import live_secrets
from app.settings import Settings
from app.webhooks.retry import next_retry_delay
from app.webhooks.sender import AttemptResult, Message, attempt_timeout

MAX_LEASE = timedelta(seconds=60)
"""Contract: a lease lasts at most 60 s, so a killed worker's work resumes within a minute."""

FAILING_DISABLE_AFTER = timedelta(days=5)
"""An endpoint whose every attempt has failed this long is disabled."""

CLAIM_SCAN_FACTOR = 4
CLAIM_SCAN_MAX = 1000
"""With a per-endpoint bound, a claim looks at up to 4 times as many due rows as it wants,
so deliveries to other endpoints are found behind one endpoint's backlog."""

# Literal, not a bound parameter: only then can PostgreSQL and SQLite match the partial
# "due" indexes (`WHERE status = 'pending'`) in prepared and cached statements.
_PENDING: ColumnElement[str] = literal_column("'pending'")

_DELIVERIES = cast(Table, WebhookDelivery.__table__)
_ENDPOINTS = cast(Table, WebhookEndpoint.__table__)
_EVENTS = cast(Table, Event.__table__)
_ATTEMPTS = cast(Table, WebhookAttempt.__table__)


def lease_for(settings: Settings) -> timedelta:
    """Room for three attempt timeouts, at least 3 s and never more than 60 s.

    A worker starts an attempt only while a full timeout is left on its lease (and hands
    the delivery back otherwise), so a lease never ends under a running attempt; and a
    killed worker's deliveries are retried by others soon after.
    """
    seconds = 3 * attempt_timeout(settings.webhook_timeout)
    return min(MAX_LEASE, timedelta(seconds=max(3.0, seconds)))


@dataclass(frozen=True)
class WorkItem:
    """A leased delivery with everything needed to send it, detached from the session."""

    delivery_id: str
    lease_token: str
    locked_until: datetime
    endpoint_id: str
    message: Message
    attempt_number: int
    """1-based number of the attempt about to be made."""
    endpoint_failing: bool = False
    """The endpoint had a run of failures when this was claimed (a success must reset it)."""


@dataclass(frozen=True)
class DeliveryOutcome:
    status: DeliveryStatus
    next_attempt_at: datetime | None
    endpoint_disabled: bool
    """True when this result (a 410, or 5 days of failures) disabled the endpoint; in a
    batch, on the first failed result of that endpoint only."""


def _locked(stmt: Select[Any], *, skip_locked: bool) -> Select[Any]:
    """The one statement form that differs by database (see the module docstring):
    `FOR UPDATE [SKIP LOCKED] OF webhook_deliveries` on PostgreSQL, nothing on SQLite."""
    return stmt.with_for_update(skip_locked=skip_locked, of=_DELIVERIES)


def _due(now: ColumnElement[datetime]) -> tuple[ColumnElement[bool], ...]:
    """Pending, due, not leased by a live worker, to an enabled endpoint."""
    return (
        _DELIVERIES.c.status == _PENDING,
        _DELIVERIES.c.next_attempt_at <= now,
        or_(_DELIVERIES.c.locked_until.is_(None), _DELIVERIES.c.locked_until < now),
        _ENDPOINTS.c.enabled.is_(True),
    )


def _listed(column: ColumnElement[str], name: str) -> ColumnElement[bool]:
    """`column IN :name`, the list rendered as one parameter per item."""
    return column.in_(bindparam(name, expanding=True))


def _listed_pg(column: ColumnElement[str], name: str) -> ColumnElement[bool]:
    """`column = ANY(:name)`: one array parameter, so the statement's text (and its
    prepared form on each connection) is the same whatever the list's length."""
    return column == any_(bindparam(name, type_=ARRAY(String())))


@dataclass(frozen=True)
class _ClaimStatements:
    """The claim's statements, built once: a worker claims many times a second, and
    building and keying an expression costs about as much CPU as running it."""

    candidates: Select[Any]
    candidates_except: Select[Any]
    lease: Any
    leased: Select[Any]
    holders: Select[Any]
    lease_and_read: Select[Any] | None
    """On PostgreSQL: `lease` as a data-modifying `WITH`, with `leased`'s columns read
    for the rows it leased, in one statement."""


def _claim_statements(
    listed: Callable[[ColumnElement[str], str], ColumnElement[bool]], *, together: bool
) -> _ClaimStatements:
    now = bindparam("now", type_=_DELIVERIES.c.next_attempt_at.type)
    candidates = (
        select(_DELIVERIES.c.id, _DELIVERIES.c.endpoint_id)
        .join(_ENDPOINTS, _ENDPOINTS.c.id == _DELIVERIES.c.endpoint_id)
        .where(*_due(now))
        .order_by(_DELIVERIES.c.next_attempt_at)
        .limit(bindparam("scan", type_=Integer()))
    )
    lease = (
        update(_DELIVERIES)
        .where(
            _DELIVERIES.c.id.in_(
                _locked(
                    select(_DELIVERIES.c.id)
                    .join(_ENDPOINTS, _ENDPOINTS.c.id == _DELIVERIES.c.endpoint_id)
                    .where(listed(_DELIVERIES.c.id, "picked"), *_due(now)),
                    skip_locked=True,
                ).scalar_subquery()
            )
        )
        .values(locked_until=bindparam("locked_until"), lease_token=bindparam("token"))
        .returning(_DELIVERIES.c.id)
    )
    leased = (
        select(
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
        .join(_ENDPOINTS, _ENDPOINTS.c.id == _DELIVERIES.c.endpoint_id)
        .join(_EVENTS, _EVENTS.c.id == _DELIVERIES.c.event_id)
        .where(listed(_DELIVERIES.c.id, "ids"))
    )
    holders = _locked(
        select(_DELIVERIES.c.id, _DELIVERIES.c.lease_token).where(listed(_DELIVERIES.c.id, "ids")),
        skip_locked=False,
    )
    lease_and_read = None
    if together:
        moved = lease.returning(
            _DELIVERIES.c.attempt_count, _DELIVERIES.c.endpoint_id, _DELIVERIES.c.event_id
        ).cte("leased")
        lease_and_read = (
            select(
                moved.c.id,
                moved.c.attempt_count,
                *leased.selected_columns[2:],
            )
            .join_from(moved, _ENDPOINTS, _ENDPOINTS.c.id == moved.c.endpoint_id)
            .join(_EVENTS, _EVENTS.c.id == moved.c.event_id)
        )
    return _ClaimStatements(
        lease_and_read=lease_and_read,
        candidates=candidates,
        candidates_except=candidates.where(~listed(_DELIVERIES.c.endpoint_id, "full")),
        lease=lease,
        leased=leased,
        holders=holders,
    )


_STATEMENTS = _claim_statements(_listed, together=False)
_STATEMENTS_PG = _claim_statements(_listed_pg, together=True)


def _statements(session: AsyncSession) -> _ClaimStatements:
    return _STATEMENTS_PG if session.get_bind().dialect.name == "postgresql" else _STATEMENTS


def _bound_of(per_endpoint: int | Callable[[str], int]) -> Callable[[str], int]:
    """The per-endpoint bound as a function of the endpoint id."""
    if callable(per_endpoint):
        return per_endpoint
    bound: int = per_endpoint
    return lambda _endpoint: bound


@dataclass(frozen=True)
class Claim:
    items: list[WorkItem]
    complete: bool
    """Every due delivery was looked at: none hides behind a busy endpoint's backlog."""
    left: frozenset[str]
    """Endpoints with due deliveries that the scan saw but left for their bound."""


async def claim_some(
    session: AsyncSession,
    now: datetime,
    limit: int,
    lease: timedelta,
    *,
    box: SecretBox,
    per_endpoint: int | Callable[[str], int] | None = None,
    busy: Mapping[str, int] | None = None,
) -> Claim:
    """Lease up to `limit` due deliveries of enabled endpoints, oldest due first, and say
    whether the scan for candidates saw every due delivery.

    With `per_endpoint` (one figure, or one per endpoint id), no endpoint gets more than
    that many, counting the `busy` deliveries the caller already holds for it, so one
    endpoint's backlog cannot fill every slot. Candidates are picked without locks, then
    locked, re-checked and leased in one UPDATE, so concurrent workers claim disjoint rows.
    """
    if limit <= 0:
        return Claim([], complete=False, left=frozenset())
    if lease > MAX_LEASE:
        raise ValueError("a lease lasts at most 60 s")
    running = dict(busy or {})
    bound_of = _bound_of(per_endpoint if per_endpoint is not None else limit)
    scan = limit if per_endpoint is None else min(limit * CLAIM_SCAN_FACTOR, CLAIM_SCAN_MAX)
    params: dict[str, Any] = {"now": now, "scan": scan}
    statements = _statements(session)
    candidates = statements.candidates
    if per_endpoint is not None:
        full = [endpoint for endpoint, count in running.items() if count >= bound_of(endpoint)]
        if full:
            candidates = statements.candidates_except
            params["full"] = full
    conn = await session.connection()
    rows = (await conn.execute(candidates, params)).all()
    picked: list[str] = []
    left: set[str] = set()
    seen = 0
    for delivery_id, endpoint_id in rows:
        seen += 1
        if per_endpoint is not None:
            if running.get(endpoint_id, 0) >= bound_of(endpoint_id):
                left.add(endpoint_id)
                continue
            running[endpoint_id] = running.get(endpoint_id, 0) + 1
        picked.append(delivery_id)
        if len(picked) == limit:
            break
    complete = seen == len(rows) < scan
    if not picked:
        return Claim([], complete, frozenset(left))
    token = secrets.token_hex(16)
    locked_until = now + lease
    leasing = {"picked": picked, "now": now, "locked_until": locked_until, "token": token}
    if statements.lease_and_read is not None:
        details = await conn.execute(statements.lease_and_read, leasing)
    else:
        leased = await conn.execute(statements.lease, leasing)
        ids = list(leased.scalars().all())
        if not ids:
            return Claim([], complete, frozenset(left))
        details = await conn.execute(statements.leased, {"ids": ids})
    order = {delivery_id: index for index, delivery_id in enumerate(picked)}
    items = [
        WorkItem(
            delivery_id=delivery_id,
            lease_token=token,
            locked_until=locked_until,
            endpoint_id=endpoint_id,
            message=Message(
                url=url,
                event_id=event_id,
                body=encode_envelope(event_id, event_type, created_at, data),
                secrets=live_secrets(
                    box.open(secret), box.open(previous) if previous else None, expires, now
                ),
            ),
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
        ) in details.all()
    ]
    return Claim(sorted(items, key=lambda item: order[item.delivery_id]), complete, frozenset(left))


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


_MOVE = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        attempt_count=bindparam("b_attempt_count"),
        next_attempt_at=bindparam("b_next_attempt_at"),
        locked_until=None,
        lease_token=None,
        last_attempt_at=bindparam("b_last_attempt_at"),
        updated_at=bindparam("b_updated_at"),
    )
)
_RECORD = insert(_ATTEMPTS)


_RECORD_SUCCESSES_PG = text(
    """
    WITH result AS (
        SELECT * FROM unnest(
            CAST(:ids AS text[]), CAST(:tokens AS text[]), CAST(:counts AS integer[]),
            CAST(:attempted AS timestamptz[]), CAST(:attempt_ids AS text[]),
            CAST(:durations AS integer[]), CAST(:codes AS integer[]), CAST(:bodies AS text[])
        ) AS r(id, token, attempt_count, attempted_at, attempt_id, duration_ms,
               status_code, response_body)
    ), moved AS (
        UPDATE webhook_deliveries AS d
        SET status = 'succeeded', attempt_count = result.attempt_count,
            next_attempt_at = NULL, locked_until = NULL, lease_token = NULL,
            last_attempt_at = result.attempted_at, updated_at = :now
        FROM result
        WHERE d.id = result.id AND d.lease_token = result.token
        RETURNING d.id
    ), logged AS (
        INSERT INTO webhook_attempts (id, delivery_id, attempted_at, duration_ms,
                                      status_code, error, response_body)
        SELECT attempt_id, id, attempted_at, duration_ms, status_code, NULL, response_body
        FROM result
        WHERE id IN (SELECT id FROM moved)
    )
    SELECT id FROM moved
    """
)
"""Successes, each only while its lease is still ours (checked under the row lock the
UPDATE takes), and their attempts: one statement, atomic on its own."""


def writes_once(dialect: str, results: Sequence[tuple[WorkItem, AttemptResult]]) -> bool:
    """True when `record_results` stores these in one statement, so it needs no
    transaction: on PostgreSQL, when every attempt succeeded and no endpoint was failing
    (nothing to track in the endpoints' health)."""
    return dialect == "postgresql" and all(
        result.succeeded and not item.endpoint_failing for item, result in results
    )


async def _record_successes(
    session: AsyncSession, results: Sequence[tuple[WorkItem, AttemptResult]], now: datetime
) -> list[DeliveryOutcome | None]:
    conn = await session.connection()
    moved = await conn.execute(
        _RECORD_SUCCESSES_PG,
        {
            "ids": [item.delivery_id for item, _ in results],
            "tokens": [item.lease_token for item, _ in results],
            "counts": [item.attempt_number for item, _ in results],
            "attempted": [result.attempted_at for _, result in results],
            "attempt_ids": [new_id("wat") for _ in results],
            "durations": [result.duration_ms for _, result in results],
            "codes": [result.status_code for _, result in results],
            "bodies": [result.response_body for _, result in results],
            "now": now,
        },
    )
    ours = set(moved.scalars().all())
    succeeded = DeliveryOutcome(DeliveryStatus.SUCCEEDED, None, endpoint_disabled=False)
    return [succeeded if item.delivery_id in ours else None for item, _ in results]


async def record_results(
    session: AsyncSession,
    results: Sequence[tuple[WorkItem, AttemptResult]],
    settings: Settings,
    now: datetime,
    rng: random.Random,
) -> list[DeliveryOutcome | None]:
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
    if writes_once(session.get_bind().dialect.name, results):
        return await _record_successes(session, results, now)
    conn = await session.connection()
    holders = await conn.execute(
        _statements(session).holders, {"ids": [item.delivery_id for item, _ in results]}
    )
    holder = dict(holders.tuples().all())
    outcomes: list[DeliveryOutcome | None] = []
    moves: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []
    owned: list[tuple[WorkItem, AttemptResult]] = []
    for item, result in results:
        if holder.get(item.delivery_id) != item.lease_token:
            outcomes.append(None)
            continue
        status, next_attempt_at = _next_state(item, result, settings, now, rng)
        moves.append(
            {
                "b_id": item.delivery_id,
                "b_status": status.value,
                "b_attempt_count": item.attempt_number,
                "b_next_attempt_at": next_attempt_at,
                "b_last_attempt_at": result.attempted_at,
                "b_updated_at": now,
            }
        )
        attempts.append(
            {
                "id": new_id("wat"),
                "delivery_id": item.delivery_id,
                "attempted_at": result.attempted_at,
                "duration_ms": result.duration_ms,
                "status_code": result.status_code,
                "error": result.error,
                "response_body": result.response_body,
            }
        )
        owned.append((item, result))
        outcomes.append(DeliveryOutcome(status, next_attempt_at, endpoint_disabled=False))
    if not owned:
        return outcomes
    await conn.execute(_MOVE, moves)
    await conn.execute(_RECORD, attempts)
    disabled = await _update_endpoint_health(session, owned, now)
    # One outcome per disabled endpoint says so, so it is reported (and counted) once.
    flagged: list[DeliveryOutcome | None] = []
    for (item, result), outcome in zip(results, outcomes, strict=True):
        if outcome is not None and item.endpoint_id in disabled and not result.succeeded:
            disabled.discard(item.endpoint_id)
            outcome = replace(outcome, endpoint_disabled=True)
        flagged.append(outcome)
    return flagged


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
                .values(failing_since=None, updated_at=now),
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
            .values(failing_since=failures[0].attempted_at, updated_at=now),
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
                .values(enabled=False, disabled_reason=reason, updated_at=now),
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
