"""Webhook deliveries as the API shows them, and re-queueing: tests and redelivery.

The worker's side (claiming, recording results) is the lease protocol in
`app.services.leases`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.base import new_id
from app.db.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.enums import DeliveryStatus, EventType
from app.errors import ConflictError, NotFoundError
from app.schemas.events import EVENT_EXAMPLES, WebhookTestData
from app.services.endpoints import get_endpoint, notify_workers, subscribes_to
from app.services.events import EXAMPLE_ID_PREFIX, get_event, is_example, record_event
from app.services.pagination import PageRequest, paginate

ATTEMPTS_SHOWN = 100
"""Most recent attempts returned with a delivery; older ones stay in the log."""


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


async def send_test(
    session: AsyncSession,
    account_id: str,
    endpoint_id: str,
    now: datetime,
    event_type: EventType = EventType.WEBHOOK_TEST,
) -> WebhookDelivery:
    """Queue a test for this endpoint alone: a `webhook.test` event, or the catalog's
    example of `event_type`.

    An example is stored as an event (its delivery and attempts are logged like any
    other) but describes nothing in the account, so it stays out of the event list and
    stream (`EXAMPLE_ID_PREFIX`) and no other endpoint receives it.
    """
    endpoint = await get_endpoint(session, account_id, endpoint_id)
    if not endpoint.enabled:
        raise ConflictError("This endpoint is disabled; enable it before sending a test.")
    if event_type == EventType.WEBHOOK_TEST:
        event = await record_event(
            session,
            account_id,
            EventType.WEBHOOK_TEST,
            WebhookTestData(
                endpoint_id=endpoint.id, message="A test event sent from the followup API."
            ),
            now,
        )
    else:
        event = Event(
            id=new_id(EXAMPLE_ID_PREFIX),
            account_id=account_id,
            type=event_type.value,
            data=EVENT_EXAMPLES[event_type].model_dump(mode="json"),
            created_at=now,
        )
        session.add(event)
        await session.flush()
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
    session: AsyncSession,
    account_id: str,
    event_id: str,
    endpoint_id: str | None,
    now: datetime,
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
    if endpoint_id is not None:
        endpoint = await get_endpoint(session, account_id, endpoint_id)
        if not endpoint.enabled:
            raise ConflictError("This endpoint is disabled; enable it before redelivering.")
        targets = [endpoint.id]
    else:
        # Tests and examples only ever go where they were sent.
        for_subscribers = event.type != EventType.WEBHOOK_TEST and not is_example(event.id)
        already = select(WebhookDelivery.endpoint_id).where(WebhookDelivery.event_id == event.id)
        rows = await session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.event_types, WebhookEndpoint.id.in_(already))
            .where(WebhookEndpoint.account_id == account_id, WebhookEndpoint.enabled.is_(True))
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        )
        targets = [
            target
            for target, event_types, delivered in rows.all()
            if delivered or (for_subscribers and subscribes_to(event_types, event.type))
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
