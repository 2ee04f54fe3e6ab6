from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import AccountDep, SessionDep
from app.schemas.policy import PolicyDocument
from app.schemas.problem import AUTHED
from app.services import policy_settings as service

router = APIRouter(prefix="/v1/policy", tags=["policy"], responses=AUTHED)


@router.get("", response_model_by_alias=True)
async def read_policy(account: AccountDep) -> PolicyDocument:
    return PolicyDocument.model_validate(service.policy_document(account))


@router.put("", response_model_by_alias=True)
async def replace_policy(
    body: PolicyDocument, session: SessionDep, account: AccountDep
) -> PolicyDocument:
    """Replace the settings; windows that have not opened yet follow the new delays."""
    await service.replace_policy(session, account, body.document())
    return PolicyDocument.model_validate(service.policy_document(account))
