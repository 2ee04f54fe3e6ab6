"""The policy document (contract 6.1). The per-rule fields are generated from the rule
registry, so a new rule appears in validation, OpenAPI and docs at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator

from app.enums import Platform, Severity
from app.policy import DAY_NAMES, DEFAULT_POLICY_DOCUMENT, RULES, parse_duration
from app.policy.registry import Rule
from app.schemas.common import InputModel

MAX_DELAY = timedelta(days=365)


def _duration(value: str) -> str:
    parsed = parse_duration(value)
    if not timedelta(0) <= parsed <= MAX_DELAY:
        raise ValueError("duration must be between PT0S and P365D")
    return value


Duration = Annotated[
    str,
    Field(max_length=40, examples=["PT24H", "P7D"], description="ISO 8601 duration, PT0S to P365D"),
    AfterValidator(_duration),
]
MAX_REPLY_WINDOW = timedelta(days=30)


def _reply_window(value: str) -> str:
    if not timedelta(0) <= parse_duration(value) <= MAX_REPLY_WINDOW:
        raise ValueError("reply_window must be between PT0S and P30D")
    return value


ReplyWindow = Annotated[
    str,
    Field(
        max_length=40,
        examples=["PT72H", "PT0S"],
        description="ISO 8601 duration, PT0S to P30D: how long an unanswered inbound attempt "
        "makes the next outbound one to that person a reply. PT0S: only explicit in_reply_to.",
    ),
    AfterValidator(_reply_window),
]
ClockTime = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["08:00"])]
KnownWord = Annotated[str, Field(min_length=1, max_length=64, pattern=r"\S", examples=["Kubeflow"])]


def _known_day(value: str) -> str:
    if value not in DAY_NAMES:
        raise ValueError(f"expected one of {', '.join(DAY_NAMES)}")
    return value


Day = Annotated[str, Field(json_schema_extra={"enum": list(DAY_NAMES)}), AfterValidator(_known_day)]


class RuleConfig(InputModel):
    enabled: bool = True
    severity: Severity


class DecisionRuleConfig(RuleConfig):
    """Rules whose severity changes once the hiring decision is made."""

    severity_after_decision: Severity | None


def _rule_field(rule: Rule) -> tuple[Any, Any]:
    default = DEFAULT_POLICY_DOCUMENT["rules"][rule.id]
    config = DecisionRuleConfig if rule.default_severity_after_decision else RuleConfig
    return (config, Field(default_factory=lambda: config.model_validate(default), alias=rule.id))


PolicyRules: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "PolicyRules",
    __base__=InputModel,
    **{rule.id.replace("-", "_"): _rule_field(rule) for rule in RULES},
)


class CallingHours(InputModel):
    start: ClockTime
    end: ClockTime
    days: list[Day] = Field(max_length=7)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start >= self.end:
            raise ValueError("calling_hours.start must be before calling_hours.end")
        if len(set(self.days)) != len(self.days):
            raise ValueError("calling_hours.days must not repeat a day")
        return self


_DEFAULT_HOURS = DEFAULT_POLICY_DOCUMENT["calling_hours"]


class PolicyDocument(InputModel):
    """`PUT` takes exactly what `GET` returns; omitted keys take their defaults."""

    model_config = ConfigDict(json_schema_extra={"examples": [DEFAULT_POLICY_DOCUMENT]})

    rules: PolicyRules = Field(default_factory=lambda: PolicyRules.model_validate({}))
    weekly_limit: int = Field(default=2, ge=1, le=50)
    thank_you_delay: Duration = "PT24H"
    check_in_delay: Duration = "P7D"
    allowed_platforms: list[Platform] = Field(default_factory=list, max_length=len(Platform))
    known_words: list[KnownWord] = Field(
        default_factory=list,
        max_length=1000,
        description="Words the proofreader accepts for this account, matched without case",
    )
    reply_window: ReplyWindow = "PT72H"
    calling_hours: CallingHours = Field(
        default_factory=lambda: CallingHours.model_validate(_DEFAULT_HOURS)
    )

    @model_validator(mode="after")
    def _unique_platforms(self) -> Self:
        if len(set(self.allowed_platforms)) != len(self.allowed_platforms):
            raise ValueError("allowed_platforms must not repeat a platform")
        return self

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)
