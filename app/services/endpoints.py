"""Webhook endpoints: their management, and the fan-out of events into deliveries.

Signing secrets are stored sealed (`app.crypto`): every attempt must be signed with
them, so they are encrypted rather than hashed. The plain secret leaves the service
only in the create and rotate responses.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import cast

from sqlalchemy import String, Table, and_, bindparam, insert, literal, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from app.db.base import UTCDateTime, new_id
from app.db.models import WebhookDelivery, WebhookEndpoint
from app.db.session import WROTE_EVENTS
from app.db.sql import random_id, subscribes
from app.enums import DeliveryStatus, EventType
from app.errors import InputError, NotFoundError
from app.schemas.webhooks import WebhookEndpointCreate, WebhookEndpointUpdate
from app.services.pagination import PageRequest, paginate
from app.settings import Settings
from app.webhooks.signing import generate_secret
from app.webhooks.ssrf import Resolver, UnsafeURLError, parse_host, resolve_and_check

logger = logging.getLogger(__name__)

WAKEUP_CHANNEL = "followup_wakeup"
"""PostgreSQL NOTIFY channel: workers LISTEN on it to start deliveries without polling."""

_NOTIFIED = "followup.notified_transaction"
"""`session.info` key: the transaction that already sent its wake-up."""

DISABLED_BY_ACCOUNT = "Disabled by the account."

ROTATION_OVERLAP = timedelta(hours=24)
"""How long the previous secret keeps signing beside the new one after a rotation."""


def live_secrets(
    secret: str, previous: str | None, previous_expires_at: datetime | None, now: datetime
) -> tuple[str, ...]:
    """The secrets an attempt at `now` is signed with: the current one, then the old one."""
    if previous and previous_expires_at is not None and previous_expires_at > now:
        return (secret, previous)
    return (secret,)


async def check_url(url: str, settings: Settings, resolver: Resolver | None = None) -> None:
    """Refuse a URL the SSRF guard rejects (422 on `body.url`).

    With `webhook_allow_private` only the shape is checked, so local receivers work. A
    host that does not resolve is refused too: a typo is better reported now than found
    later in a delivery log, and the send-time check guards against rebinding anyway.
    """
    try:
        if settings.webhook_allow_private:
            parse_host(url)
        else:
            await resolve_and_check(url, allow_private=False, resolver=resolver)
    except UnsafeURLError as exc:
        raise InputError(f"This webhook URL is refused: {exc}.", ["body", "url"]) from exc


def _event_types(values: list[EventType] | None) -> list[str]:
    """Distinct values in the order given; empty means every type."""
    return list(dict.fromkeys(value.value for value in values or ()))


async def get_endpoint(session: AsyncSession, account_id: str, endpoint_id: str) -> WebhookEndpoint:
    endpoint = await session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint_id, WebhookEndpoint.account_id == account_id
        )
    )
    if endpoint is None:
        raise NotFoundError("No such webhook endpoint.")
    return endpoint


async def list_endpoints(
    session: AsyncSession, account_id: str, page: PageRequest
) -> tuple[list[WebhookEndpoint], str | None]:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.account_id == account_id)
    return await paginate(
        session, stmt, page, sort=WebhookEndpoint.created_at, tiebreak=WebhookEndpoint.id
    )


async def create_endpoint(
    session: AsyncSession,
    account_id: str,
    fields: WebhookEndpointCreate,
    settings: Settings,
    resolver: Resolver | None = None,
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its plain secret (shown once, in the response)."""
    await check_url(fields.url, settings, resolver)
    plain = generate_secret()
    endpoint = WebhookEndpoint(
        account_id=account_id,
        url=fields.url,
        description=fields.description,
        event_types=_event_types(fields.event_types),
        enabled=fields.enabled,
        secret=settings.secret_box().seal(plain),
    )
    if not endpoint.enabled:
        endpoint.disabled_reason = DISABLED_BY_ACCOUNT
    session.add(endpoint)
    await session.flush()
    return endpoint, plain


async def update_endpoint(
    session: AsyncSession,
    account_id: str,
    endpoint_id: str,
    patch: WebhookEndpointUpdate,
    settings: Settings,
    resolver: Resolver | None = None,
) -> WebhookEndpoint:
    """Apply a PATCH. Enabling a disabled endpoint starts it afresh: no reason, no failing run."""
    endpoint = await get_endpoint(session, account_id, endpoint_id)
    changes = patch.model_dump(exclude_unset=True)
    if "url" in changes and changes["url"] != endpoint.url:
        await check_url(changes["url"], settings, resolver)
        endpoint.url = changes["url"]
    if "description" in changes:
        endpoint.description = changes["description"]
    if "event_types" in changes:
        endpoint.event_types = _event_types(changes["event_types"])
    if "enabled" in changes and changes["enabled"] != endpoint.enabled:
        endpoint.enabled = changes["enabled"]
        if endpoint.enabled:
            endpoint.disabled_reason = None
            endpoint.failing_since = None
        else:
            endpoint.disabled_reason = DISABLED_BY_ACCOUNT
        logger.info(
            "webhook endpoint %s %s by the account",
            endpoint.id,
            "enabled" if endpoint.enabled else "disabled",
            extra={"endpoint_id": endpoint.id, "account_id": account_id},
        )
    await session.flush()
    return endpoint


async def delete_endpoint(session: AsyncSession, account_id: str, endpoint_id: str) -> None:
    """Its deliveries and their attempts go with it (foreign-key cascade)."""
    endpoint = await get_endpoint(session, account_id, endpoint_id)
    await session.delete(endpoint)
    await session.flush()


async def rotate_secret(
    session: AsyncSession, account_id: str, endpoint_id: str, now: datetime, settings: Settings
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the current one keeps signing beside it for 24 h.

    Rotating again within those 24 h retires the oldest secret at once: at most two
    secrets are ever live, so the `webhook-signature` header stays small.
    """
    endpoint = await get_endpoint(session, account_id, endpoint_id)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    plain = generate_secret()
    endpoint.secret = settings.secret_box().seal(plain)
    await session.flush()
    return endpoint, plain


def subscribes_to(endpoint_types: list[str], event_type: str) -> bool:
    return not endpoint_types or event_type in endpoint_types


@dataclass(frozen=True)
class StoredEvent:
    """What fan-out needs of an event row, whether stored by the ORM or in bulk."""

    id: str
    account_id: str
    type: str
    created_at: datetime


async def fan_out(session: AsyncSession, events: Sequence[StoredEvent]) -> None:
    """One pending delivery per enabled endpoint of the account that wants each event.

    Runs in the transaction that stores the events (the outbox), so a delivery exists
    exactly when its event does. Each account's endpoints are read once per call.
    `webhook.test` goes only where the test route sends it.
    """
    events = [event for event in events if event.type != EventType.WEBHOOK_TEST]
    if not events:
        return
    endpoints: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
    rows = await session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.account_id, WebhookEndpoint.event_types)
        .where(
            WebhookEndpoint.account_id.in_({event.account_id for event in events}),
            WebhookEndpoint.enabled.is_(True),
        )
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    for endpoint_id, account_id, event_types in rows.all():
        endpoints[account_id].append((endpoint_id, event_types))
    deliveries = [
        {
            "id": new_id("dlv"),
            "account_id": event.account_id,
            "event_id": event.id,
            "endpoint_id": endpoint_id,
            "status": DeliveryStatus.PENDING.value,
            "attempt_count": 0,
            "next_attempt_at": event.created_at,
            "created_at": event.created_at,
            "updated_at": event.created_at,
        }
        for event in events
        for endpoint_id, event_types in endpoints[event.account_id]
        if subscribes_to(event_types, event.type)
    ]
    if deliveries:
        await session.execute(insert(cast(Table, WebhookDelivery.__table__)), deliveries)


@cache
def fan_out_write(count: int) -> Insert:
    """`fan_out` as one `INSERT … SELECT` for `count` events of one request, named by
    the bind parameters `event{i}_id`, `event{i}_account_id`, `event{i}_type` and
    `event{i}_created_at` (`app.services.events.event_params`): the database pairs them
    with the subscribed endpoints, so no endpoint row travels. Built once per count.
    `webhook.test` goes only where the test route sends it."""
    rows = [
        select(
            bindparam(f"event{index}_id", type_=String()).label("event_id"),
            bindparam(f"event{index}_account_id", type_=String()).label("account_id"),
            bindparam(f"event{index}_type", type_=String()).label("type"),
            bindparam(f"event{index}_created_at", type_=UTCDateTime()).label("created_at"),
        )
        for index in range(count)
    ]
    new = (rows[0] if len(rows) == 1 else union_all(*rows)).subquery("new_events")
    endpoint = cast(Table, WebhookEndpoint.__table__)
    at = new.c.created_at
    pairs = new.join(
        endpoint,
        and_(
            endpoint.c.account_id == new.c.account_id,
            endpoint.c.enabled.is_(True),
            new.c.type != literal(EventType.WEBHOOK_TEST.value, String()),
            subscribes(endpoint.c.event_types, new.c.type),
        ),
    )
    return insert(cast(Table, WebhookDelivery.__table__)).from_select(
        [
            "id",
            "account_id",
            "event_id",
            "endpoint_id",
            "status",
            "attempt_count",
            "next_attempt_at",
            "created_at",
            "updated_at",
        ],
        select(
            random_id("dlv"),
            new.c.account_id,
            new.c.event_id,
            endpoint.c.id,
            literal(DeliveryStatus.PENDING.value, String()),
            literal(0),
            at,
            at,
            at,
        ).select_from(pairs),
    )


async def notify_workers(session: AsyncSession) -> None:
    """Wake listening workers when this transaction commits (PostgreSQL; and a worker in
    the same process, by `WROTE_EVENTS`, on either database).

    NOTIFY is transactional: a rollback sends nothing. One per transaction is enough, so
    repeats are skipped (a batch of 500 events costs one round trip, not 500). Elsewhere
    the worker's poll picks the work up.
    """
    session.info[WROTE_EVENTS] = True
    if session.get_bind().dialect.name != "postgresql":
        return
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_NOTIFIED) is transaction:
        return
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": WAKEUP_CHANNEL})
    session.info[_NOTIFIED] = transaction
