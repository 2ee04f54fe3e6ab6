"""The account's policy settings (which rules run, and how strictly)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import AccountDep, SessionDep
from app.api.openapi import ApiRoute
from app.schemas.policy import PolicyDocument
from app.services import policy_settings as service

router = APIRouter(prefix="/v1/policy", tags=["policy"], route_class=ApiRoute)


@router.get("", response_model_by_alias=True, summary="Get the policy settings")
async def read_policy(account: AccountDep) -> PolicyDocument:
    """The account's settings; `PUT` accepts exactly this document."""
    return PolicyDocument.model_validate(service.policy_document(account))


@router.put("", response_model_by_alias=True, summary="Replace the policy settings")
async def replace_policy(
    body: PolicyDocument, session: SessionDep, account: AccountDep
) -> PolicyDocument:
    """Replace the settings (omitted keys take their defaults; unknown rule ids or keys
    are 422). Later evaluations use them, and windows that have not opened yet follow the
    new delays."""
    await service.replace_policy(session, account, body.document())
    return PolicyDocument.model_validate(service.policy_document(account))
