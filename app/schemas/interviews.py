from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Self

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from app.enums import Decision, InterviewFormat, WindowKind, WindowState
from app.schemas.common import (
    ExternalId,
    IdRef,
    InputDatetime,
    InputModel,
    Name,
    Notes,
    OutputModel,
    TimeZoneName,
    UpdateModel,
    UTCDatetime,
)


class InterviewCreate(InputModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "candidate_id": "cand_5f0c6a4e9b1d4f7e8a2b3c4d5e6f7a8b",
                    "company": "Northwind Traders",
                    "role_title": "Data Analyst",
                    "starts_at": "2026-11-30T10:00:00+00:00",
                    "format": "video",
                    "decision_expected_at": "2026-12-11T17:00:00+00:00",
                }
            ]
        }
    )

    candidate_id: IdRef
    company: Name
    role_title: Name
    starts_at: InputDatetime
    ends_at: InputDatetime | None = Field(default=None, description="Defaults to starts_at + 1h.")
    timezone: TimeZoneName | None = Field(default=None, description="Defaults to the candidate's.")
    format: InterviewFormat | None = None
    decision_expected_at: InputDatetime | None = None
    external_id: ExternalId | None = None
    notes: Notes | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_at is not None and self.ends_at < self.starts_at:
            raise ValueError("ends_at must not be before starts_at")
        return self


class InterviewUpdate(UpdateModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"decision": "offer"}]})

    non_nullable = frozenset(
        {"company", "role_title", "starts_at", "ends_at", "timezone", "decision", "decided_at"}
    )

    company: Name | None = None
    role_title: Name | None = None
    starts_at: InputDatetime | None = None
    ends_at: InputDatetime | None = None
    timezone: TimeZoneName | None = None
    format: InterviewFormat | None = None
    decision_expected_at: InputDatetime | None = None
    external_id: ExternalId | None = None
    notes: Notes | None = None
    decision: Decision | None = None
    decided_at: InputDatetime | None = Field(
        default=None,
        description="Only together with a decision other than pending (history imported "
        "from an ATS): when the decision was made, not before starts_at and at most 5 "
        "minutes in the future. Without it a decision is dated at the time of the PATCH.",
    )

    @field_validator("decided_at")
    @classmethod
    def _only_with_a_decision(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        decision = info.data.get("decision")
        if value is not None and decision is None:
            raise ValueError("decided_at can only be set together with decision")
        if value is not None and decision is Decision.PENDING:
            raise ValueError("decided_at cannot be set with decision pending")
        return value


class WindowRead(OutputModel):
    id: str
    interview_id: str
    kind: WindowKind
    opens_at: UTCDatetime
    state: WindowState
    state_changed_at: UTCDatetime


class InterviewRead(OutputModel):
    id: str
    candidate_id: str
    company: str
    role_title: str
    starts_at: UTCDatetime
    ends_at: UTCDatetime
    timezone: str
    format: InterviewFormat | None
    decision_expected_at: UTCDatetime | None
    external_id: str | None
    notes: str | None
    decision: Decision
    decided_at: UTCDatetime | None
    created_at: UTCDatetime
    updated_at: UTCDatetime
    windows: list[WindowRead] = Field(default_factory=list)

    @classmethod
    def of(cls, interview: Any, windows: Iterable[Any]) -> InterviewRead:
        """An interview row with its window rows (in opening order): the one shape of an
        interview, in responses and in event payloads alike."""
        read = cls.model_validate(interview)
        read.windows = [WindowRead.model_validate(window) for window in windows]
        return read
