"""The account's policy settings: stored as the contract's JSON document."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Account
from app.policy import (
    DEFAULT_POLICY_DOCUMENT,
    DEFAULT_SETTINGS,
    PolicySettings,
    settings_from_document,
)
from app.services.windows import reschedule_account


def policy_document(account: Account) -> dict[str, Any]:
    return copy.deepcopy(account.policy if account.policy is not None else DEFAULT_POLICY_DOCUMENT)


def policy_settings(account: Account) -> PolicySettings:
    """Read-only use of the document: no copy, and the defaults are parsed once."""
    if account.policy is None:
        return DEFAULT_SETTINGS
    return settings_from_document(account.policy)


async def replace_policy(
    session: AsyncSession, account: Account, document: dict[str, Any]
) -> PolicySettings:
    """Store a validated document; windows that have not opened follow the new delays."""
    settings = settings_from_document(document)
    account.policy = document
    await session.flush()
    await reschedule_account(session, account, settings)
    return settings
