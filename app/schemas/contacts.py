from __future__ import annotations

from pydantic import ConfigDict

from app.enums import ContactRole
from app.schemas.common import (
    Email,
    InputModel,
    Name,
    OutputModel,
    Phone,
    TimeZoneName,
    UpdateModel,
    UTCDatetime,
)


class ContactCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Catherine Diaz",
                    "role": "recruiter",
                    "email": "catherine.diaz@northwind.example",
                    "timezone": "America/New_York",
                }
            ]
        }
    )

    name: Name
    role: ContactRole
    email: Email | None = None
    phone: Phone | None = None
    timezone: TimeZoneName | None = None


class ContactUpdate(UpdateModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "hiring_manager"}]})

    non_nullable = frozenset({"name", "role"})

    name: Name | None = None
    role: ContactRole | None = None
    email: Email | None = None
    phone: Phone | None = None
    timezone: TimeZoneName | None = None


class ContactRead(OutputModel):
    id: str
    interview_id: str
    name: str
    role: ContactRole
    email: str | None
    phone: str | None
    timezone: str | None
    created_at: UTCDatetime
    updated_at: UTCDatetime
