"""Webhook endpoints, their deliveries, and redelivering an event."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.api.deps import (
    AccountDep,
    NowDep,
    PageDep,
    ResolverDep,
    ResourceId,
    SessionDep,
    SettingsDep,
)
from app.api.openapi import ApiRoute
from app.enums import DeliveryStatus, EventType
from app.schemas.common import Page
from app.schemas.webhooks import (
    RedeliverRequest,
    Redelivery,
    WebhookAttemptRead,
    WebhookDeliveryDetail,
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
    WebhookTestRequest,
)
from app.services import deliveries as delivery_service
from app.services import endpoints as service

router = APIRouter(tags=["webhooks"], route_class=ApiRoute)


@router.post(
    "/v1/webhook-endpoints",
    status_code=201,
    name="create_webhook_endpoint",
    summary="Register a webhook endpoint",
)
async def create_endpoint(
    body: WebhookEndpointCreate,
    session: SessionDep,
    account: AccountDep,
    settings: SettingsDep,
    resolver: ResolverDep,
) -> WebhookEndpointWithSecret:
    """Subscribe a URL to events (`event_types` omitted or empty: every type). The signing
    `secret` is shown here and on rotation only. A URL on a loopback, private, link-local
    or reserved address is refused (422) unless `FOLLOWUP_WEBHOOK_ALLOW_PRIVATE=true`."""
    endpoint, secret = await service.create_endpoint(session, account.id, body, settings, resolver)
    return WebhookEndpointWithSecret.of(endpoint, secret)


@router.get(
    "/v1/webhook-endpoints", name="list_webhook_endpoints", summary="List webhook endpoints"
)
async def list_endpoints(
    session: SessionDep, account: AccountDep, page: PageDep
) -> Page[WebhookEndpointRead]:
    """The account's endpoints, newest first, without their secrets."""
    rows, cursor = await service.list_endpoints(session, account.id, page)
    return Page(data=[WebhookEndpointRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.get(
    "/v1/webhook-endpoints/{endpoint_id}",
    name="read_webhook_endpoint",
    summary="Get a webhook endpoint",
)
async def read_endpoint(
    endpoint_id: ResourceId, session: SessionDep, account: AccountDep
) -> WebhookEndpointRead:
    """One endpoint, with `disabled_reason` and `failing_since` when deliveries fail."""
    return WebhookEndpointRead.model_validate(
        await service.get_endpoint(session, account.id, endpoint_id)
    )


@router.patch(
    "/v1/webhook-endpoints/{endpoint_id}",
    name="update_webhook_endpoint",
    summary="Update a webhook endpoint",
)
async def update_endpoint(
    endpoint_id: ResourceId,
    body: WebhookEndpointUpdate,
    session: SessionDep,
    account: AccountDep,
    settings: SettingsDep,
    resolver: ResolverDep,
) -> WebhookEndpointRead:
    """Change the fields sent. Setting `enabled: true` re-enables an endpoint that was
    disabled (by a `410 Gone` or days of failures)."""
    endpoint = await service.update_endpoint(
        session, account.id, endpoint_id, body, settings, resolver
    )
    return WebhookEndpointRead.model_validate(endpoint)


@router.delete(
    "/v1/webhook-endpoints/{endpoint_id}",
    status_code=204,
    name="delete_webhook_endpoint",
    summary="Delete a webhook endpoint",
)
async def delete_endpoint(
    endpoint_id: ResourceId, session: SessionDep, account: AccountDep
) -> Response:
    """Delete an endpoint with its deliveries; nothing more is sent to it."""
    await service.delete_endpoint(session, account.id, endpoint_id)
    return Response(status_code=204)


@router.post(
    "/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
    name="rotate_webhook_secret",
    summary="Rotate a webhook endpoint's secret",
)
async def rotate_secret(
    endpoint_id: ResourceId,
    session: SessionDep,
    account: AccountDep,
    settings: SettingsDep,
    now: NowDep,
) -> WebhookEndpointWithSecret:
    """A new signing secret, shown in this response only; the old one keeps signing beside
    it for 24 h, so receivers can switch without missing a delivery."""
    endpoint, secret = await service.rotate_secret(session, account.id, endpoint_id, now, settings)
    return WebhookEndpointWithSecret.of(endpoint, secret)


@router.post(
    "/v1/webhook-endpoints/{endpoint_id}/test",
    status_code=202,
    name="send_webhook_test",
    summary="Send a test event to an endpoint",
    responses={
        409: {
            "description": "`conflict`: the endpoint is disabled, or a request with the "
            "same `Idempotency-Key` is still in flight."
        }
    },
)
async def send_test(
    endpoint_id: ResourceId,
    session: SessionDep,
    account: AccountDep,
    now: NowDep,
    body: WebhookTestRequest | None = None,
) -> WebhookDeliveryRead:
    """Queue a `webhook.test` event, or the catalog's example of `event_type`, for this
    endpoint alone (409 if it is disabled)."""
    event_type = body.event_type if body is not None else EventType.WEBHOOK_TEST
    delivery = await delivery_service.send_test(session, account.id, endpoint_id, now, event_type)
    return WebhookDeliveryRead.model_validate(delivery)


@router.get(
    "/v1/webhook-endpoints/{endpoint_id}/deliveries",
    name="list_webhook_deliveries",
    summary="List an endpoint's deliveries",
)
async def list_deliveries(
    endpoint_id: ResourceId,
    session: SessionDep,
    account: AccountDep,
    page: PageDep,
    status: Annotated[
        DeliveryStatus | None, Query(description="Only deliveries in this status.")
    ] = None,
) -> Page[WebhookDeliveryRead]:
    """The endpoint's deliveries, newest first."""
    rows, cursor = await delivery_service.list_endpoint_deliveries(
        session, account.id, endpoint_id, page, status
    )
    return Page(data=[WebhookDeliveryRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.get(
    "/v1/webhook-deliveries/{delivery_id}",
    name="read_webhook_delivery",
    summary="Get a delivery with its attempts",
)
async def read_delivery(
    delivery_id: ResourceId, session: SessionDep, account: AccountDep
) -> WebhookDeliveryDetail:
    """One delivery and its attempt log: when, how long, the status code or error, and
    the first 1 KiB of the response body."""
    delivery, attempts = await delivery_service.get_delivery(session, account.id, delivery_id)
    read = WebhookDeliveryRead.model_validate(delivery)
    return WebhookDeliveryDetail(
        **read.model_dump(),
        attempts=[WebhookAttemptRead.model_validate(a) for a in attempts],
    )


@router.post(
    "/v1/events/{event_id}/redeliver",
    status_code=202,
    summary="Redeliver an event",
    responses={
        409: {
            "description": "`conflict`: the endpoint named is disabled, or a request with "
            "the same `Idempotency-Key` is still in flight."
        }
    },
)
async def redeliver_event(
    event_id: ResourceId,
    session: SessionDep,
    account: AccountDep,
    now: NowDep,
    body: RedeliverRequest | None = None,
) -> Redelivery:
    """Queue the event again: to `endpoint_id`, or else to every enabled endpoint that
    subscribes to it or already has a delivery of it. A finished delivery starts a fresh
    retry schedule (its attempt log is kept); a pending one becomes due now."""
    endpoint_id = body.endpoint_id if body is not None else None
    queued = await delivery_service.redeliver(session, account.id, event_id, endpoint_id, now)
    return Redelivery(
        event_id=event_id, deliveries=[WebhookDeliveryRead.model_validate(d) for d in queued]
    )
