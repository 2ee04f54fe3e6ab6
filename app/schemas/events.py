"""Events: the envelope and, per type, the shape of its `data`.

This module is the one source of the payload shapes: services build each event's data
from these models (so `interview.*` data is exactly what `GET /v1/interviews/{id}`
returns), the worker sends the envelope `encode_envelope` makes, and the event catalog
and the OpenAPI `webhooks` section are generated from `EVENT_DATA`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from app.clock import format_utc
from app.enums import (
    Channel,
    ContactRole,
    Decision,
    Direction,
    EventType,
    InterviewFormat,
    Platform,
    Purpose,
    Severity,
    Verdict,
    WindowKind,
    WindowState,
)
from app.schemas.attempts import AttemptRead, FindingRead, RefusedAttempt
from app.schemas.common import OutputModel, UTCDatetime
from app.schemas.contacts import ContactRead
from app.schemas.interviews import InterviewRead, WindowRead


class EventRead(OutputModel):
    id: str
    type: EventType
    created_at: UTCDatetime
    data: dict[str, Any]


class InterviewEventData(BaseModel):
    """`interview.created`, `interview.updated`, `interview.decided`."""

    interview: InterviewRead


class AttemptEventData(BaseModel):
    """`contact_attempt.recorded` and `contact_attempt.flagged`: the stored attempt."""

    attempt: AttemptRead
    interview_id: str
    verdict: Verdict
    findings: list[FindingRead]


class AttemptRejectedData(BaseModel):
    """`contact_attempt.rejected`: the refused request, and why."""

    attempt: RefusedAttempt
    interview_id: str
    verdict: Verdict
    findings: list[FindingRead]


class WindowOpenedData(BaseModel):
    """`followup.window_opened`: the window, its interview, the people to write to."""

    window: WindowRead
    interview: InterviewRead
    contacts: list[ContactRead]
    suggested_action: str


class WebhookTestData(BaseModel):
    """`webhook.test`: sent to one endpoint on request."""

    endpoint_id: str
    message: str


EVENT_DATA: dict[EventType, type[BaseModel]] = {
    EventType.INTERVIEW_CREATED: InterviewEventData,
    EventType.INTERVIEW_UPDATED: InterviewEventData,
    EventType.INTERVIEW_DECIDED: InterviewEventData,
    EventType.CONTACT_ATTEMPT_RECORDED: AttemptEventData,
    EventType.CONTACT_ATTEMPT_FLAGGED: AttemptEventData,
    EventType.CONTACT_ATTEMPT_REJECTED: AttemptRejectedData,
    EventType.WINDOW_OPENED: WindowOpenedData,
    EventType.WEBHOOK_TEST: WebhookTestData,
}
"""The shape of `data` for each event type."""


def envelope(event_id: str, event_type: str, created_at: datetime, data: Any) -> dict[str, Any]:
    """The webhook body and the `GET /v1/events/{id}` response."""
    return {"id": event_id, "type": event_type, "created_at": format_utc(created_at), "data": data}


def encode_envelope(event_id: str, event_type: str, created_at: datetime, data: Any) -> bytes:
    """The exact bytes that are signed and sent; identical on every retry."""
    return json.dumps(
        envelope(event_id, event_type, created_at, data), separators=(",", ":"), ensure_ascii=False
    ).encode()


_AT = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
_WINDOW = WindowRead(
    id="win_3f1c9b2e7a5d4c8e9f0a1b2c3d4e5f60",
    interview_id="intv_8d2f4a6c1e3b5d7f9a0c2e4f6a8b0d1e",
    kind=WindowKind.THANK_YOU,
    opens_at=_AT + timedelta(hours=25),
    state=WindowState.OPEN,
    state_changed_at=_AT + timedelta(hours=25),
)
_INTERVIEW = InterviewRead(
    id="intv_8d2f4a6c1e3b5d7f9a0c2e4f6a8b0d1e",
    candidate_id="cand_1a2b3c4d5e6f70819a2b3c4d5e6f7081",
    company="Ledgerly",
    role_title="Senior Data Engineer",
    starts_at=_AT,
    ends_at=_AT + timedelta(hours=1),
    timezone="Europe/London",
    format=InterviewFormat.VIDEO,
    decision_expected_at=None,
    external_id="ats-4471",
    notes=None,
    decision=Decision.PENDING,
    decided_at=None,
    created_at=_AT - timedelta(days=3),
    updated_at=_AT - timedelta(days=3),
    windows=[_WINDOW],
)
_FINDING = FindingRead(
    rule="wait-24-hours",
    severity=Severity.WARN,
    message="If it's been 24 hours since your meeting … it makes good sense to follow up.",
    advice="Wait a day after the interview before following up.",
    details=None,
)
_ATTEMPT = AttemptRead(
    id="att_5e6f708192a3b4c5d6e7f8091a2b3c4d",
    interview_id=_INTERVIEW.id,
    contact_id="cont_0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    channel=Channel.EMAIL,
    direction=Direction.OUTBOUND,
    platform=None,
    purpose=Purpose.THANK_YOU,
    occurred_at=_AT + timedelta(hours=2),
    subject="Thank you",
    body="Dear Catherine,\n\nThank you for your time today.\n\nBest regards,\nSam",
    in_reply_to=None,
    reply_to=None,
    verdict=Verdict.FLAGGED,
    findings=[_FINDING],
    created_at=_AT + timedelta(hours=2),
)
_CONTACT = ContactRead(
    id="cont_0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    interview_id=_INTERVIEW.id,
    name="Catherine Hale",
    role=ContactRole.HIRING_MANAGER,
    email="catherine@ledgerly.example",
    phone=None,
    timezone=None,
    created_at=_AT - timedelta(days=3),
    updated_at=_AT - timedelta(days=3),
)
_REFUSED = RefusedAttempt(
    interview_id=_INTERVIEW.id,
    contact_id=_CONTACT.id,
    channel=Channel.SOCIAL_CONNECTION,
    direction=Direction.OUTBOUND,
    platform=Platform.LINKEDIN,
    purpose=None,
    occurred_at=_AT + timedelta(hours=3),
    subject=None,
    body=None,
    in_reply_to=None,
    reply_to=None,
)
_NO_SOCIAL = FindingRead(
    rule="no-social-connection",
    severity=Severity.BLOCK,
    message="Avoid adding them on Facebook, Twitter or other social platforms.",
    advice="Keep to email until the hiring decision is made.",
    details=None,
)

EVENT_EXAMPLES: dict[EventType, BaseModel] = {
    EventType.INTERVIEW_CREATED: InterviewEventData(interview=_INTERVIEW),
    EventType.INTERVIEW_UPDATED: InterviewEventData(interview=_INTERVIEW),
    EventType.INTERVIEW_DECIDED: InterviewEventData(
        interview=_INTERVIEW.model_copy(
            update={"decision": Decision.OFFER, "decided_at": _AT + timedelta(days=4)}
        )
    ),
    EventType.CONTACT_ATTEMPT_RECORDED: AttemptEventData(
        attempt=_ATTEMPT, interview_id=_INTERVIEW.id, verdict=Verdict.FLAGGED, findings=[_FINDING]
    ),
    EventType.CONTACT_ATTEMPT_FLAGGED: AttemptEventData(
        attempt=_ATTEMPT, interview_id=_INTERVIEW.id, verdict=Verdict.FLAGGED, findings=[_FINDING]
    ),
    EventType.CONTACT_ATTEMPT_REJECTED: AttemptRejectedData(
        attempt=_REFUSED,
        interview_id=_INTERVIEW.id,
        verdict=Verdict.REJECTED,
        findings=[_NO_SOCIAL],
    ),
    EventType.WINDOW_OPENED: WindowOpenedData(
        window=_WINDOW,
        interview=_INTERVIEW,
        contacts=[_CONTACT],
        suggested_action="Send a short thank-you email to the people who interviewed you.",
    ),
    EventType.WEBHOOK_TEST: WebhookTestData(
        endpoint_id="we_9a8b7c6d5e4f30211f2e3d4c5b6a7980",
        message="A test event sent from the followup API.",
    ),
}
"""A valid payload of each type: the catalog's examples, and what a test send carries."""
