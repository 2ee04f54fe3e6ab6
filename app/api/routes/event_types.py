"""The event catalog: `GET /v1/event-types`, and the OpenAPI `webhooks` section (one
operation per event type, its request body the envelope a subscriber receives)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from pydantic.json_schema import models_json_schema

from app.api.deps import AccountDep
from app.api.openapi import ApiRoute
from app.enums import EventType
from app.schemas.catalog import DESCRIPTIONS, EventTypeList, catalog, envelope_model

router = APIRouter(prefix="/v1/event-types", tags=["events"], route_class=ApiRoute)

SCHEMA_REF = "#/components/schemas/{model}"


@router.get("", summary="The event types, with the schema and an example of each")
async def list_event_types(_account: AccountDep) -> EventTypeList:
    """Every event type a webhook endpoint or the event stream can carry: what it means,
    the JSON Schema of its envelope (the exact webhook body) and a valid example. The
    same schemas are the OpenAPI document's `webhooks` section."""
    return catalog()


def _envelope_schemas() -> dict[str, Any]:
    """Each envelope's schema as the API serialises it (the body is a response of ours,
    not a request we validate), with the resource shapes it shares with the API."""
    models = [(envelope_model(event_type), "serialization") for event_type in EventType]
    _, definitions = models_json_schema(models, ref_template=SCHEMA_REF)  # type: ignore[arg-type]
    schemas: dict[str, Any] = definitions.get("$defs", {})
    return schemas


def declare_webhooks(app: FastAPI) -> None:
    """Add one `webhooks` operation per event type to the app's OpenAPI document."""
    for event_type in EventType:
        name = envelope_model(event_type).__name__

        async def receive() -> None:
            """Documentation only: the subscriber's endpoint receives this body."""

        app.webhooks.post(
            event_type.value,
            summary=event_type.value,
            description=DESCRIPTIONS[event_type]
            + " Signed per Standard Webhooks (webhook-id, webhook-timestamp, "
            "webhook-signature); answer 2xx within 10 s.",
            operation_id=f"webhook_{event_type.value.replace('.', '_')}",
            tags=["events"],
            status_code=200,
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": SCHEMA_REF.format(model=name)}}
                    },
                }
            },
        )(receive)
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model, definition in _envelope_schemas().items():
            components.setdefault(model, definition)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
