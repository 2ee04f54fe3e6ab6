from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from app.enums import (
    SOCIAL_CHANNELS,
    Channel,
    Direction,
    Platform,
    Purpose,
    Severity,
    Verdict,
)
from app.schemas.common import IdRef, InputDatetime, InputModel, OutputModel, UTCDatetime

Subject = Annotated[str, Field(max_length=500)]
Body = Annotated[str, Field(max_length=50_000)]


class AttemptCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "channel": "email",
                    "contact_id": "cont_9a8b7c6d5e4f40318a2b3c4d5e6f7a8b",
                    "purpose": "thank_you",
                    "occurred_at": "2026-12-01T11:30:00+00:00",
                    "subject": "Thank you for your time",
                    "body": "Dear Catherine,\n\nThank you for meeting me yesterday about "
                    "the Data Analyst role.\n\nBest regards,\nJordan",
                },
                {"channel": "social_connection", "platform": "linkedin"},
            ]
        }
    )

    channel: Channel
    direction: Direction = Direction.OUTBOUND
    contact_id: IdRef | None = None
    platform: Platform | None = Field(
        default=None, description="Required for social_connection, social_message, public_post."
    )
    purpose: Purpose | None = None
    occurred_at: InputDatetime | None = Field(
        default=None,
        description="Defaults to now. Recording refuses times over 5 minutes ahead; "
        "evaluate accepts any time (a planned attempt).",
    )
    subject: Subject | None = None
    body: Body | None = None
    in_reply_to: IdRef | None = Field(
        default=None,
        description="Outbound only: the id of an earlier inbound attempt of this interview "
        "that this attempt answers. Without it, an outbound attempt still answers the "
        "contact's latest unanswered inbound attempt within the policy's reply_window.",
    )

    @field_validator("in_reply_to")
    @classmethod
    def _outbound_reply(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if info.data.get("direction") is Direction.INBOUND:
            raise ValueError("in_reply_to is for outbound attempts only")
        if info.data.get("channel") is Channel.PUBLIC_POST:
            raise ValueError("a public_post answers no one: leave in_reply_to out")
        return value

    @model_validator(mode="after")
    def _channel_rules(self) -> Self:
        if self.channel in SOCIAL_CHANNELS and self.platform is None:
            raise ValueError(f"platform is required for channel {self.channel.value}")
        if self.channel is Channel.PUBLIC_POST and self.contact_id is not None:
            raise ValueError("a public_post has no contact: leave contact_id out")
        return self


class FindingRead(OutputModel):
    rule: str
    severity: Severity
    message: str
    advice: str
    details: list[dict[str, Any]] | None = None


ReplyTo = Annotated[
    str | None,
    Field(description="The id of the inbound attempt this one answers (a reply), or null."),
]


class EvaluationRead(OutputModel):
    verdict: Verdict
    findings: list[FindingRead]
    reply_to: ReplyTo


class RefusedAttempt(OutputModel):
    """A refused request, as the `contact_attempt.rejected` event carries it: the
    attempt's fields, with no id (nothing was stored)."""

    interview_id: str
    contact_id: str | None
    channel: Channel
    direction: Direction
    platform: Platform | None
    purpose: Purpose | None
    occurred_at: UTCDatetime
    subject: str | None
    body: str | None
    in_reply_to: str | None
    reply_to: ReplyTo


class AttemptRead(OutputModel):
    id: str
    interview_id: str
    contact_id: str | None
    channel: Channel
    direction: Direction
    platform: Platform | None
    purpose: Purpose | None
    occurred_at: UTCDatetime
    subject: str | None
    body: str | None
    in_reply_to: str | None = Field(description="The `in_reply_to` the request gave, if any.")
    reply_to: ReplyTo
    verdict: Verdict
    findings: list[FindingRead]
    created_at: UTCDatetime
