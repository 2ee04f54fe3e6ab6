"""The event catalog: `GET /v1/event-types`, and the OpenAPI `webhooks` section (one
operation per event type, its request body the envelope a subscriber receives)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from app.api.deps import AccountDep
from app.api.openapi import ApiRoute
from app.enums import EventType
from app.schemas.catalog import DESCRIPTIONS, EventTypeList, catalog, envelope_model

router = APIRouter(prefix="/v1/event-types", tags=["events"], route_class=ApiRoute)


@router.get("", summary="The event types, with the schema and an example of each")
async def list_event_types(_account: AccountDep) -> EventTypeList:
    """Every event type a webhook endpoint or the event stream can carry: what it means,
    the JSON Schema of its envelope (the exact webhook body) and a valid example. The
    same schemas are the OpenAPI document's `webhooks` section."""
    return catalog()


def declare_webhooks(app: FastAPI) -> None:
    """Add one `webhooks` operation per event type to the app's OpenAPI document."""
    for event_type in EventType:
        model = envelope_model(event_type)

        async def receive(body: BaseModel) -> None:
            """Documentation only: the subscriber's endpoint receives this body."""

        receive.__annotations__["body"] = model

        app.webhooks.post(
            event_type.value,
            summary=event_type.value,
            description=DESCRIPTIONS[event_type]
            + " Signed per Standard Webhooks (webhook-id, webhook-timestamp, "
            "webhook-signature); answer 2xx within 10 s.",
            operation_id=f"webhook_{event_type.value.replace('.', '_')}",
            tags=["events"],
            status_code=200,
        )(receive)
