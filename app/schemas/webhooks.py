"""Webhook endpoints, deliveries and their attempt log (contract section 8)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field

from app.enums import DeliveryStatus, EventType
from app.schemas.common import IdRef, InputModel, OutputModel, UpdateModel, UTCDatetime

WebhookURL = Annotated[
    str,
    Field(
        min_length=1,
        max_length=2048,
        examples=["https://hooks.example.com/followup"],
        description="http or https; hosts on loopback, private or reserved addresses are refused.",
        json_schema_extra={"format": "uri"},
    ),
]
Description = Annotated[str, Field(max_length=500)]
EventTypes = Annotated[
    list[EventType],
    Field(
        max_length=len(EventType),
        description="Event types to receive; omitted or empty means every type.",
    ),
]


class WebhookEndpointCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.example.com/followup",
                    "description": "Reminders to the mobile app",
                    "event_types": ["followup.window_opened", "contact_attempt.flagged"],
                }
            ]
        }
    )

    url: WebhookURL
    description: Description | None = None
    event_types: EventTypes = Field(default_factory=list)
    enabled: bool = True


class WebhookEndpointUpdate(UpdateModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"enabled": True}]})

    non_nullable = frozenset({"url", "event_types", "enabled"})

    url: WebhookURL | None = None
    description: Description | None = None
    event_types: EventTypes | None = None
    enabled: bool | None = None


class WebhookEndpointRead(OutputModel):
    id: str
    url: str
    description: str | None
    event_types: list[EventType]
    enabled: bool
    disabled_reason: str | None
    failing_since: UTCDatetime | None = Field(
        description="Start of the current run of failed attempts; null after any success."
    )
    previous_secret_expires_at: UTCDatetime | None = Field(
        description="Until then the secret before the last rotation still signs deliveries."
    )
    created_at: UTCDatetime
    updated_at: UTCDatetime


class WebhookEndpointWithSecret(WebhookEndpointRead):
    @classmethod
    def of(cls, endpoint: Any, secret: str) -> WebhookEndpointWithSecret:
        """The endpoint with its plain secret (stored sealed, so given separately)."""
        return cls.model_validate(
            {**WebhookEndpointRead.model_validate(endpoint).model_dump(), "secret": secret}
        )

    """Returned only on creation and rotation: the one time the secret is shown."""

    secret: str = Field(description="`whsec_` + base64; verify `webhook-signature` with it.")


class WebhookAttemptRead(OutputModel):
    id: str
    attempted_at: UTCDatetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_body: str | None = Field(description="The first 1 KiB of the response body.")


class WebhookDeliveryRead(OutputModel):
    id: str
    event_id: str
    endpoint_id: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: UTCDatetime | None = Field(
        description="When the next attempt is due; null once the delivery has ended."
    )
    last_attempt_at: UTCDatetime | None
    created_at: UTCDatetime
    updated_at: UTCDatetime


class WebhookDeliveryDetail(WebhookDeliveryRead):
    attempts: list[WebhookAttemptRead] = Field(
        description="The 100 most recent attempts, oldest first."
    )


class WebhookTestRequest(InputModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"event_type": "followup.window_opened"}]}
    )

    event_type: EventType = Field(
        default=EventType.WEBHOOK_TEST,
        description="Send the event catalog's example of this type instead of `webhook.test`.",
    )


class RedeliverRequest(InputModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"endpoint_id": "we_1b2c3d4e5f60718293a4b5c6d7e8f901"}]}
    )

    endpoint_id: IdRef | None = Field(
        default=None,
        description="Redeliver to this endpoint only; otherwise to every enabled endpoint "
        "that subscribes to the event or already has a delivery of it.",
    )


class Redelivery(OutputModel):
    event_id: str
    deliveries: list[WebhookDeliveryRead]
