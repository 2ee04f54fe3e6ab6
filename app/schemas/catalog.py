"""The event catalog: per event type, its envelope's model, JSON Schema and an example.

Built from `EVENT_DATA` and `EVENT_EXAMPLES` (`app.schemas.events`), the same shapes
the services write and the worker sends, so the catalog, the OpenAPI `webhooks`
section and every delivered body cannot disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from app.enums import EventType
from app.schemas.common import UTCDatetime
from app.schemas.events import EVENT_DATA, EVENT_EXAMPLES, envelope

DESCRIPTIONS: dict[EventType, str] = {
    EventType.INTERVIEW_CREATED: "An interview was created (with its three follow-up windows).",
    EventType.INTERVIEW_UPDATED: "An interview's fields other than its decision changed.",
    EventType.INTERVIEW_DECIDED: "An interview's decision changed (offer, rejection, …).",
    EventType.CONTACT_ATTEMPT_RECORDED: "A contact attempt was stored (allowed or flagged).",
    EventType.CONTACT_ATTEMPT_FLAGGED: "A stored contact attempt had warnings (verdict flagged).",
    EventType.CONTACT_ATTEMPT_REJECTED: "A contact attempt was refused by the policy; "
    "nothing was stored.",
    EventType.WINDOW_OPENED: "A follow-up window opened: time to write, with a suggestion.",
    EventType.WEBHOOK_TEST: "A test sent to one endpoint on request.",
}


def _model_name(event_type: EventType) -> str:
    words = event_type.value.replace(".", "_").split("_")
    return "".join(word.capitalize() for word in words) + "Event"


@cache
def envelope_model(event_type: EventType) -> type[BaseModel]:
    """The envelope of one event type: `{id, type, created_at, data}` with typed data."""
    fields: dict[str, Any] = {
        "id": (str, ...),
        "type": (Literal[event_type.value], ...),
        "created_at": (UTCDatetime, ...),
        "data": (EVENT_DATA[event_type], ...),
    }
    model: type[BaseModel] = create_model(
        _model_name(event_type),
        __config__=ConfigDict(title=_model_name(event_type)),
        __doc__=DESCRIPTIONS[event_type],
        **fields,
    )
    return model


EXAMPLE_AT = datetime(2026, 11, 21, 16, 0, tzinfo=UTC)


def example_envelope(event_type: EventType) -> dict[str, Any]:
    data = EVENT_EXAMPLES[event_type].model_dump(mode="json")
    return envelope("evt_0123456789abcdef0123456789abcdef", event_type.value, EXAMPLE_AT, data)


class EventTypeRead(BaseModel):
    """One entry of the catalog."""

    model_config = ConfigDict(populate_by_name=True)

    type: EventType
    description: str
    json_schema: dict[str, Any] = Field(
        alias="schema", description="JSON Schema of the envelope (the webhook body)."
    )
    example: dict[str, Any] = Field(description="A valid envelope of this type.")


class EventTypeList(BaseModel):
    data: list[EventTypeRead]


@cache
def catalog() -> EventTypeList:
    """`GET /v1/event-types`: one entry per type, its schema and a valid example."""
    return EventTypeList(
        data=[
            EventTypeRead.model_validate(
                {
                    "type": event_type,
                    "description": DESCRIPTIONS[event_type],
                    "schema": envelope_model(event_type).model_json_schema(mode="serialization"),
                    "example": example_envelope(event_type),
                }
            )
            for event_type in EventType
        ]
    )
