from __future__ import annotations

from app.schemas.common import InputModel, Name, OutputModel, UTCDatetime


class AccountCreate(InputModel):
    name: Name


class AccountCreated(OutputModel):
    account_id: str
    api_key: str


class AccountRead(OutputModel):
    id: str
    name: str
    created_at: UTCDatetime


class ApiKeyCreate(InputModel):
    name: Name | None = None


class ApiKeyRead(OutputModel):
    id: str
    name: str | None
    prefix: str
    created_at: UTCDatetime


class ApiKeyCreated(ApiKeyRead):
    api_key: str
