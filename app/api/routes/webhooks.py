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
from app.enums import DeliveryStatus, EventType
from app.schemas.common import Page
from app.schemas.problem import AUTHED, problem_responses
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

router = APIRouter(tags=["webhooks"], responses=AUTHED)


@router.post("/v1/webhook-endpoints", status_code=201)
async def create_endpoint(
    body: WebhookEndpointCreate,
    session: SessionDep,
    account: AccountDep,
    settings: SettingsDep,
    resolver: ResolverDep,
) -> WebhookEndpointWithSecret:
    endpoint = await service.create_endpoint(session, account.id, body, settings, resolver)
    return WebhookEndpointWithSecret.model_validate(endpoint)


@router.get("/v1/webhook-endpoints")
async def list_endpoints(
    session: SessionDep, account: AccountDep, page: PageDep
) -> Page[WebhookEndpointRead]:
    rows, cursor = await service.list_endpoints(session, account.id, page)
    return Page(data=[WebhookEndpointRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/v1/webhook-endpoints/{endpoint_id}")
async def read_endpoint(
    endpoint_id: ResourceId, session: SessionDep, account: AccountDep
) -> WebhookEndpointRead:
    return WebhookEndpointRead.model_validate(
        await service.get_endpoint(session, account.id, endpoint_id)
    )


@router.patch("/v1/webhook-endpoints/{endpoint_id}")
async def update_endpoint(
    endpoint_id: ResourceId,
    body: WebhookEndpointUpdate,
    session: SessionDep,
    account: AccountDep,
    settings: SettingsDep,
    resolver: ResolverDep,
) -> WebhookEndpointRead:
    endpoint = await service.update_endpoint(
        session, account.id, endpoint_id, body, settings, resolver
    )
    return WebhookEndpointRead.model_validate(endpoint)


@router.delete("/v1/webhook-endpoints/{endpoint_id}", status_code=204)
async def delete_endpoint(
    endpoint_id: ResourceId, session: SessionDep, account: AccountDep
) -> Response:
    await service.delete_endpoint(session, account.id, endpoint_id)
    return Response(status_code=204)


@router.post("/v1/webhook-endpoints/{endpoint_id}/rotate-secret")
async def rotate_secret(
    endpoint_id: ResourceId, session: SessionDep, account: AccountDep, now: NowDep
) -> WebhookEndpointWithSecret:
    """A new secret; the old one keeps signing beside it for 24 h."""
    return WebhookEndpointWithSecret.model_validate(
        await service.rotate_secret(session, account.id, endpoint_id, now)
    )


@router.post(
    "/v1/webhook-endpoints/{endpoint_id}/test",
    status_code=202,
    responses=problem_responses(409),
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


@router.get("/v1/webhook-endpoints/{endpoint_id}/deliveries")
async def list_deliveries(
    endpoint_id: ResourceId,
    session: SessionDep,
    account: AccountDep,
    page: PageDep,
    status: Annotated[DeliveryStatus | None, Query()] = None,
) -> Page[WebhookDeliveryRead]:
    rows, cursor = await delivery_service.list_endpoint_deliveries(
        session, account.id, endpoint_id, page, status
    )
    return Page(data=[WebhookDeliveryRead.model_validate(r) for r in rows], next_cursor=cursor)


@router.get("/v1/webhook-deliveries/{delivery_id}")
async def read_delivery(
    delivery_id: ResourceId, session: SessionDep, account: AccountDep
) -> WebhookDeliveryDetail:
    delivery, attempts = await delivery_service.get_delivery(session, account.id, delivery_id)
    read = WebhookDeliveryRead.model_validate(delivery)
    return WebhookDeliveryDetail(
        **read.model_dump(),
        attempts=[WebhookAttemptRead.model_validate(a) for a in attempts],
    )


@router.post("/v1/events/{event_id}/redeliver", status_code=202, responses=problem_responses(409))
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
