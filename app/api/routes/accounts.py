"""Accounts and API keys; account creation is an operator action behind the admin token."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import AccountDep, AdminDep, NowDep, PageDep, ResourceId, SessionDep
from app.api.openapi import ApiRoute
from app.schemas.accounts import (
    AccountCreate,
    AccountCreated,
    AccountRead,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
)
from app.schemas.common import Page
from app.services import accounts as service

router = APIRouter(route_class=ApiRoute)


@router.post(
    "/admin/accounts",
    status_code=201,
    tags=["admin"],
    summary="Create an account",
)
async def create_account(
    body: AccountCreate, session: SessionDep, _admin: AdminDep
) -> AccountCreated:
    """Create an account and its first API key, shown only in this response.

    Operator only: answers 404 unless `FOLLOWUP_ADMIN_TOKEN` is set and sent as the bearer
    token. `followup create-account --name NAME` does the same from a shell."""
    account, issued = await service.create_account(session, body.name)
    return AccountCreated(account_id=account.id, api_key=issued.plain)


@router.get("/v1/account", tags=["account"], summary="The calling account")
async def read_account(account: AccountDep) -> AccountRead:
    """The account that owns the API key sent with this request."""
    return AccountRead.model_validate(account)


@router.post("/v1/api-keys", status_code=201, tags=["account"], summary="Create an API key")
async def create_api_key(
    body: ApiKeyCreate, session: SessionDep, account: AccountDep
) -> ApiKeyCreated:
    """Issue another key for this account. The plain key (`api_key`) is in this response
    only; it is stored hashed, and lists show its `prefix`."""
    issued = await service.issue_key(session, account.id, body.name)
    return ApiKeyCreated.model_validate(
        {**ApiKeyRead.model_validate(issued.key).model_dump(), "api_key": issued.plain}
    )


@router.get("/v1/api-keys", tags=["account"], summary="List API keys")
async def list_api_keys(
    session: SessionDep, account: AccountDep, page: PageDep
) -> Page[ApiKeyRead]:
    """The account's live keys, newest first, without their secret part."""
    keys, cursor = await service.list_keys(session, account.id, page)
    return Page(data=[ApiKeyRead.model_validate(key) for key in keys], next_cursor=cursor)


@router.delete(
    "/v1/api-keys/{key_id}", status_code=204, tags=["account"], summary="Revoke an API key"
)
async def revoke_api_key(
    key_id: ResourceId, session: SessionDep, account: AccountDep, now: NowDep
) -> Response:
    """Revoke a key: requests with it get 401 at once."""
    await service.revoke_key(session, account.id, key_id, now)
    return Response(status_code=204)
