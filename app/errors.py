"""Domain errors. Each carries its HTTP status and problem slug; the API renders RFC 9457."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar


class AppError(Exception):
    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal server error"
    keeps_changes: ClassVar[bool] = False
    """True when the request's transaction commits even though the request failed."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def extra(self) -> dict[str, Any]:
        """Members added to the problem document beside type/title/status/detail."""
        return {}


class NotFoundError(AppError):
    status = 404
    slug = "not-found"
    title = "Not found"


class UnauthorizedError(AppError):
    status = 401
    slug = "unauthorized"
    title = "Unauthorized"


class ConflictError(AppError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class DuplicateExternalIdError(ConflictError):
    """A unique `external_id` is taken; the problem names the resource that holds it."""

    def __init__(self, detail: str, existing_id: str) -> None:
        super().__init__(detail)
        self.existing_id = existing_id

    def extra(self) -> dict[str, Any]:
        return {"existing_id": self.existing_id}


class InputError(AppError):
    """A semantic check on otherwise well-formed input failed (422 validation-error)."""

    status = 422
    slug = "validation-error"
    title = "Validation error"

    def __init__(self, detail: str, loc: Sequence[str | int] = ()) -> None:
        super().__init__(detail)
        self.loc = list(loc)

    def extra(self) -> dict[str, Any]:
        return {"errors": [{"loc": self.loc, "msg": self.detail}]}


class PolicyViolationError(AppError):
    """A refused contact attempt. Its `contact_attempt.rejected` event is the change the
    refusal records, so the transaction commits (contract section 5)."""

    status = 422
    slug = "policy-violation"
    title = "Policy violation"
    keeps_changes = True

    def __init__(self, detail: str, findings: list[dict[str, Any]]) -> None:
        super().__init__(detail)
        self.findings = findings

    def extra(self) -> dict[str, Any]:
        return {"findings": self.findings}


class IdempotencyKeyReuseError(AppError):
    status = 422
    slug = "idempotency-key-reuse"
    title = "Idempotency key reused"


class ServiceUnavailableError(AppError):
    """The database cannot be reached (or is busy): try again shortly."""

    status = 503
    slug = "service-unavailable"
    title = "Service unavailable"
    retry_after = 2
    """Seconds a client should wait before retrying (the `Retry-After` header)."""


class PayloadTooLargeError(AppError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"
