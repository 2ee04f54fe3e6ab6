from __future__ import annotations

from pydantic import ConfigDict

from app.schemas.common import InputModel, Name, OutputModel, UTCDatetime


class AccountCreate(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Acme Careers"}]})

    name: Name


class AccountCreated(OutputModel):
    account_id: str
    api_key: str


class AccountRead(OutputModel):
    id: str
    name: str
    created_at: UTCDatetime


class ApiKeyCreate(InputModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "ATS sync"}]})

    name: Name | None = None


class ApiKeyRead(OutputModel):
    id: str
    name: str | None
    prefix: str
    created_at: UTCDatetime


class ApiKeyCreated(ApiKeyRead):
    api_key: str
