"""Accounts and API keys; account creation is an operator action behind the admin token."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import AccountDep, AdminDep, NowDep, PageDep, ResourceId, SessionDep
from app.schemas.accounts import (
    AccountCreate,
    AccountCreated,
    AccountRead,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
)
from app.schemas.common import Page
from app.schemas.problem import AUTHED, problem_responses
from app.services import accounts as service

router = APIRouter()


@router.post(
    "/admin/accounts",
    status_code=201,
    tags=["admin"],
    responses=problem_responses(404, 422),
    summary="Create an account (operator only; 404 unless FOLLOWUP_ADMIN_TOKEN is set and sent)",
)
async def create_account(
    body: AccountCreate, session: SessionDep, _admin: AdminDep
) -> AccountCreated:
    account, issued = await service.create_account(session, body.name)
    return AccountCreated(account_id=account.id, api_key=issued.plain)


@router.get("/v1/account", tags=["account"], responses=AUTHED)
async def read_account(account: AccountDep) -> AccountRead:
    return AccountRead.model_validate(account)


@router.post("/v1/api-keys", status_code=201, tags=["account"], responses=AUTHED)
async def create_api_key(
    body: ApiKeyCreate, session: SessionDep, account: AccountDep
) -> ApiKeyCreated:
    issued = await service.issue_key(session, account.id, body.name)
    return ApiKeyCreated.model_validate(
        {**ApiKeyRead.model_validate(issued.key).model_dump(), "api_key": issued.plain}
    )


@router.get("/v1/api-keys", tags=["account"], responses=AUTHED)
async def list_api_keys(
    session: SessionDep, account: AccountDep, page: PageDep
) -> Page[ApiKeyRead]:
    keys, cursor = await service.list_keys(session, account.id, page)
    return Page(data=[ApiKeyRead.model_validate(key) for key in keys], next_cursor=cursor)


@router.delete("/v1/api-keys/{key_id}", status_code=204, tags=["account"], responses=AUTHED)
async def revoke_api_key(
    key_id: ResourceId, session: SessionDep, account: AccountDep, now: NowDep
) -> Response:
    await service.revoke_key(session, account.id, key_id, now)
    return Response(status_code=204)
