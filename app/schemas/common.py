"""Shared schema types: bounded inputs, UTC `Z` outputs and the list envelope."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from app.clock import format_utc

MIN_DATETIME = datetime(1970, 1, 1, tzinfo=UTC)
MAX_DATETIME = datetime(2100, 1, 1, tzinfo=UTC)


def _within_bounds(value: datetime) -> datetime:
    if not MIN_DATETIME <= value <= MAX_DATETIME:
        raise ValueError("datetime must be between 1970-01-01T00:00:00Z and 2100-01-01T00:00:00Z")
    return value.astimezone(UTC)


InputDatetime = Annotated[
    AwareDatetime,
    AfterValidator(_within_bounds),
    # JSON Schema has no bounds for date-time strings that tools agree on, so the bounds
    # are stated in words; the validator above enforces them.
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339 with an offset (a naive datetime is refused), from "
            "1970-01-01T00:00:00Z to 2100-01-01T00:00:00Z inclusive.",
            "examples": ["2026-11-30T10:00:00+00:00"],
        }
    ),
]
"""An input datetime: offset required, 1970..2100, normalised to UTC."""

UTCDatetime = Annotated[
    datetime,
    PlainSerializer(format_utc, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


NOT_PLACES = frozenset({"Factory", "localtime", "posixrules"})
"""Names in a zone database that are not time zones of a place: `Factory` (IANA's
placeholder), and the host's own aliases."""


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    """The IANA zone names (tzdata's list, the same on every machine), less the
    placeholders; never the host's `localtime`, `posix/…` or `right/…` files."""
    listed = resources.files("tzdata").joinpath("zones").read_text().split()
    return frozenset(listed) - NOT_PLACES


def _known_zone(value: str) -> str:
    if value not in _zones():
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/London")
    return value


TimeZoneName = Annotated[
    str,
    Field(min_length=1, max_length=64, examples=["Europe/London"]),
    AfterValidator(_known_zone),
]
IdRef = Annotated[str, Field(min_length=1, max_length=64, description="An opaque id.")]
"""A resource id in a body or query, bounded exactly like one in a path."""
Name = Annotated[str, Field(min_length=1, max_length=200)]
ExternalId = Annotated[str, Field(min_length=1, max_length=200)]
Email = Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Phone = Annotated[str, Field(min_length=1, max_length=50)]
Notes = Annotated[str, Field(max_length=50_000)]
Limit = Annotated[int, Field(ge=1, le=200)]
Cursor = Annotated[str, Field(max_length=500)]


class InputModel(BaseModel):
    """Request bodies: unknown fields are refused (422), and so is text with NUL
    characters, which PostgreSQL cannot store."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text must not contain NUL characters")
        if isinstance(value, list) and any(isinstance(v, str) and "\x00" in v for v in value):
            raise ValueError("text must not contain NUL characters")
        return value


class OutputModel(BaseModel):
    """Response bodies. Every field is always sent, so the schema marks each one required,
    defaults included, and generated clients need no "unset" case for them."""

    model_config = ConfigDict(
        from_attributes=True, json_schema_serialization_defaults_required=True
    )


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list, in the list's stable order."""

    data: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        """`CandidatePage` rather than `Page[CandidateRead]`, for generated clients."""
        names = (getattr(param, "__name__", str(param)) for param in params)
        return "".join(name.removesuffix("Read") for name in names) + "Page"


class UpdateModel(InputModel):
    """PATCH bodies: every field optional, but `null` only where the resource allows it."""

    non_nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> Self:
        nulled = sorted(
            name
            for name in self.model_fields_set & self.non_nullable
            if getattr(self, name) is None
        )
        if nulled:
            raise ValueError(f"these fields cannot be null: {', '.join(nulled)}")
        return self
