from __future__ import annotations

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
    name: Name
    role: ContactRole
    email: Email | None = None
    phone: Phone | None = None
    timezone: TimeZoneName | None = None


class ContactUpdate(UpdateModel):
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
