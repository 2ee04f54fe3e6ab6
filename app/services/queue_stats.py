"""What the worker's queue looks like right now, read at scrape time for the gauges in
`app.metrics`: pending deliveries, how long the oldest due one has waited, and the same
for follow-up windows. Reads only; the partial "due" indexes keep them cheap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.db.models import FollowupWindow, WebhookDelivery, WebhookEndpoint


@dataclass(frozen=True)
class QueueStats:
    pending_deliveries: int
    """Pending deliveries to enabled endpoints (due now or scheduled for a retry)."""
    oldest_due_delivery_age: float
    """Seconds the longest-waiting due delivery has been due; 0 when none is."""
    oldest_due_window_age: float
    """Seconds the longest-waiting due window has been left pending; 0 when none is."""


def _age(since: datetime | None, now: datetime) -> float:
    return 0.0 if since is None else max(0.0, (now - since).total_seconds())


async def queue_stats(session: AsyncSession, now: datetime) -> QueueStats:
    pending: ColumnElement[str] = literal_column("'pending'")
    enabled = (
        select(
            func.count(),
            func.min(WebhookDelivery.next_attempt_at).filter(
                WebhookDelivery.next_attempt_at <= now
            ),
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.status == pending, WebhookEndpoint.enabled.is_(True))
    )
    count, oldest_delivery = (await session.execute(enabled)).one()
    oldest_window = await session.scalar(
        select(func.min(FollowupWindow.opens_at)).where(
            FollowupWindow.state == pending, FollowupWindow.opens_at <= now
        )
    )
    return QueueStats(
        pending_deliveries=int(count),
        oldest_due_delivery_age=_age(oldest_delivery, now),
        oldest_due_window_age=_age(oldest_window, now),
    )
