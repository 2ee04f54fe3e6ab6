"""JSON views of resources, shared by API responses and event payloads.

Event data must equal what `GET` returns (contract section 8), so both are built here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from app.db.models import Contact, ContactAttempt, Interview


def format_utc(value: datetime) -> str:
    """RFC 3339 in UTC with a `Z` suffix, the contract's output form."""
    return value.astimezone(UTC).isoformat().removesuffix("+00:00") + "Z"


def _utc(value: datetime | None) -> str | None:
    return None if value is None else format_utc(value)


def interview_view(interview: Interview, windows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": interview.id,
        "candidate_id": interview.candidate_id,
        "company": interview.company,
        "role_title": interview.role_title,
        "starts_at": format_utc(interview.starts_at),
        "ends_at": format_utc(interview.ends_at),
        "timezone": interview.timezone,
        "format": interview.format,
        "decision_expected_at": _utc(interview.decision_expected_at),
        "external_id": interview.external_id,
        "notes": interview.notes,
        "decision": interview.decision,
        "decided_at": _utc(interview.decided_at),
        "created_at": format_utc(interview.created_at),
        "updated_at": format_utc(interview.updated_at),
        "windows": list(windows),
    }


def attempt_view(attempt: ContactAttempt) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "interview_id": attempt.interview_id,
        "contact_id": attempt.contact_id,
        "channel": attempt.channel,
        "direction": attempt.direction,
        "platform": attempt.platform,
        "purpose": attempt.purpose,
        "occurred_at": format_utc(attempt.occurred_at),
        "subject": attempt.subject,
        "body": attempt.body,
        "verdict": attempt.verdict,
        "findings": attempt.findings,
        "created_at": format_utc(attempt.created_at),
    }


def contact_view(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "interview_id": contact.interview_id,
        "name": contact.name,
        "role": contact.role,
        "email": contact.email,
        "phone": contact.phone,
        "timezone": contact.timezone,
        "created_at": format_utc(contact.created_at),
        "updated_at": format_utc(contact.updated_at),
    }
