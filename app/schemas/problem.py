from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class ProblemError(BaseModel):
    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details (`application/problem+json`)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemError] | None = None


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given error statuses."""
    return {code: {"model": Problem, "content": {"application/problem+json": {}}} for code in codes}


AUTHED = problem_responses(401, 404, 422)
