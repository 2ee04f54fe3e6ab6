"""RFC 9457 problem documents as OpenAPI schemas, so generated clients can read errors typed.

Each problem with members of its own (`errors`, `findings`, `existing_id`) has a model
whose `type` is a constant, which lets a client tell them apart by `type` alone.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.attempts import FindingRead


class ProblemError(BaseModel):
    """One invalid input: where it is (`body`, `query`, `path` or `header`, then the
    field) and what is wrong with it."""

    loc: list[str | int] = Field(examples=[["body", "name"]])
    msg: str = Field(examples=["String should have at least 1 character"])


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/not-found",
                    "title": "Not found",
                    "status": 404,
                    "detail": "No such candidate.",
                }
            ]
        },
    )

    type: str = Field(description="A relative URI `/problems/<slug>` naming the kind of error.")
    title: str = Field(description="A short summary of the kind of error.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong with this request, for a person.")


class ValidationProblem(Problem):
    """422 `validation-error`: the body, query, path or a header is invalid."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/validation-error",
                    "title": "Validation error",
                    "status": 422,
                    "detail": "The request has 1 invalid field.",
                    "errors": [{"loc": ["body", "name"], "msg": "Field required"}],
                }
            ]
        }
    )

    type: Literal["/problems/validation-error"]
    errors: list[ProblemError]


class IdempotencyKeyReuseProblem(Problem):
    """422 `idempotency-key-reuse`: the `Idempotency-Key` was used for another request."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/idempotency-key-reuse",
                    "title": "Idempotency key reused",
                    "status": 422,
                    "detail": "This Idempotency-Key was already used with a different request.",
                }
            ]
        }
    )

    type: Literal["/problems/idempotency-key-reuse"]


class PolicyViolationProblem(Problem):
    """422 `policy-violation`: a `block` finding refused the contact attempt; nothing was
    stored. `findings` lists every finding, `block` first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/policy-violation",
                    "title": "Policy violation",
                    "status": 422,
                    "detail": "The attempt was refused by: no-social-connection. "
                    "Nothing was stored.",
                    "findings": [
                        {
                            "rule": "no-social-connection",
                            "severity": "block",
                            "message": "A connection request on LinkedIn to Catherine Diaz "
                            "while the hiring decision is still being made.",
                            "advice": "Although a great interview can jump-start rapport with "
                            "a potential employer, it's worth remembering that they're not "
                            "your friend. As the guidance puts it: \"That's why it's wise to "
                            "avoid adding them on Facebook, Twitter or other social platforms "
                            '– particularly if their hiring decisions are still being made." '
                            "Keep in touch by email instead.",
                            "details": [{"platform": "linkedin"}],
                        }
                    ],
                }
            ]
        }
    )

    type: Literal["/problems/policy-violation"]
    findings: list[FindingRead]


class ConflictProblem(Problem):
    """409 `conflict`. A duplicate `external_id` names the resource that holds it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "/problems/conflict",
                    "title": "Conflict",
                    "status": 409,
                    "detail": "A candidate with external_id 'ats-1042' already exists.",
                    "existing_id": "cand_5f0c6a4e9b1d4f7e8a2b3c4d5e6f7a8b",
                }
            ]
        }
    )

    type: Literal["/problems/conflict"]
    existing_id: str | None = Field(
        default=None,
        description="For a duplicate `external_id`: the id of the resource that holds it.",
    )


AttemptRefusal = Annotated[
    PolicyViolationProblem | ValidationProblem | IdempotencyKeyReuseProblem,
    Field(discriminator="type"),
]
"""The 422 of recording a contact attempt: refused by the policy, or invalid input."""

InputRefusal = Annotated[
    ValidationProblem | IdempotencyKeyReuseProblem, Field(discriminator="type")
]
"""The 422 of any other POST: invalid input, or an idempotency key reused."""


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given error statuses, typed as plain problems."""
    return {code: {"model": Problem} for code in codes}
