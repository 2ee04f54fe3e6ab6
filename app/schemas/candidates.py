from __future__ import annotations

from pydantic import ConfigDict

from app.schemas.common import (
    Email,
    ExternalId,
    InputModel,
    Name,
    OutputModel,
    Phone,
    TimeZoneName,
    UpdateModel,
    UTCDatetime,
)


class CandidateCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Jordan Smith",
                    "email": "jordan@example.com",
                    "timezone": "Europe/London",
                    "external_id": "ats-1042",
                }
            ]
        }
    )

    name: Name
    email: Email | None = None
    phone: Phone | None = None
    timezone: TimeZoneName = "UTC"
    external_id: ExternalId | None = None


class CandidateUpdate(UpdateModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"phone": "+44 20 7946 0000", "timezone": "Europe/Paris"}]}
    )

    non_nullable = frozenset({"name", "timezone"})

    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    timezone: TimeZoneName | None = None
    external_id: ExternalId | None = None


class CandidateRead(OutputModel):
    id: str
    name: str
    email: str | None
    phone: str | None
    timezone: str
    external_id: str | None
    created_at: UTCDatetime
    updated_at: UTCDatetime
