"""Policy settings (contract section 6.1): the default document, durations and conversion."""

import copy
import json
from datetime import UTC, datetime, time, timedelta

import pytest

from app.enums import Platform, Severity
from app.policy import (
    DEFAULT_POLICY_DOCUMENT,
    DEFAULT_SETTINGS,
    RULE_IDS,
    RULES,
    CallingHours,
    RuleSettings,
    parse_duration,
    settings_from_document,
)

CONTRACT_DEFAULTS = """
{"rules": {
   "wait-24-hours":        {"enabled": true, "severity": "warn"},
   "no-repeat-calls":      {"enabled": true, "severity": "block"},
   "one-follow-up-email":  {"enabled": true, "severity": "warn"},
   "multiple-voicemails":  {"enabled": true, "severity": "block"},
   "weekly-contact-limit": {"enabled": true, "severity": "block"},
   "no-social-connection": {"enabled": true, "severity": "block",
                            "severity_after_decision": "warn"},
   "no-public-post":       {"enabled": true, "severity": "block",
                            "severity_after_decision": "info"},
   "proofread":            {"enabled": true, "severity": "warn"},
   "after-decision":       {"enabled": true, "severity": "warn"},
   "quiet-hours":          {"enabled": true, "severity": "warn"}},
 "weekly_limit": 2,
 "thank_you_delay": "PT24H",
 "check_in_delay": "P7D",
 "allowed_platforms": [],
 "known_words": [],
 "reply_window": "PT72H",
 "calling_hours": {"start": "08:00", "end": "18:00",
                   "days": ["mon", "tue", "wed", "thu", "fri"]}}
"""
"""CONTRACT.md section 6.1, verbatim but for two lines wrapped to fit 100 columns."""


def test_default_document_is_the_contracts() -> None:
    assert json.loads(CONTRACT_DEFAULTS) == DEFAULT_POLICY_DOCUMENT
    assert json.loads(json.dumps(DEFAULT_POLICY_DOCUMENT)) == DEFAULT_POLICY_DOCUMENT


def test_rules_are_registered_in_the_contract_table_order() -> None:
    assert RULE_IDS == (
        "wait-24-hours",
        "no-repeat-calls",
        "one-follow-up-email",
        "multiple-voicemails",
        "weekly-contact-limit",
        "no-social-connection",
        "no-public-post",
        "proofread",
        "after-decision",
        "quiet-hours",
    )
    assert [rule.id for rule in RULES] == list(RULE_IDS)


def test_default_settings_match_the_default_document() -> None:
    settings = DEFAULT_SETTINGS
    assert settings.weekly_limit == 2
    assert settings.thank_you_delay == timedelta(hours=24)
    assert settings.check_in_delay == timedelta(days=7)
    assert settings.allowed_platforms == frozenset()
    assert settings.calling_hours == CallingHours(time(8), time(18), frozenset(range(5)))
    assert settings.rules["no-public-post"] == RuleSettings(True, Severity.BLOCK, Severity.INFO)
    assert settings.rules["no-social-connection"] == RuleSettings(
        True, Severity.BLOCK, Severity.WARN
    )
    assert settings.rules["quiet-hours"] == RuleSettings(True, Severity.WARN, None)
    assert list(settings.rules) == list(RULE_IDS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT24H", timedelta(hours=24)),
        ("P7D", timedelta(days=7)),
        ("P2W", timedelta(weeks=2)),
        ("PT0S", timedelta(0)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
        ("PT90M", timedelta(minutes=90)),
        ("PT1.5S", timedelta(seconds=1.5)),
        ("PT0,25S", timedelta(seconds=0.25)),
        ("P365D", timedelta(days=365)),
        ("P1W2DT3H4M5S", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
    ],
)
def test_iso_durations_are_parsed(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "P", "PT", "P1DT", "P1Y", "P1M", "P1Y2D", "-P1D", "P-1D", "PT1.5H", "1D", "p1d",
     "PT24", "P1D2H", "P\u0661D", " PT1H", "P99999999999D"],
)  # fmt: skip
def test_malformed_or_unsupported_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_a_document_converts_to_settings() -> None:
    document = copy.deepcopy(DEFAULT_POLICY_DOCUMENT)
    document["rules"]["proofread"] = {"enabled": False, "severity": "info"}
    document.update(
        weekly_limit=5,
        thank_you_delay="PT12H",
        check_in_delay="P10D",
        allowed_platforms=["linkedin", "twitter"],
        calling_hours={"start": "09:30", "end": "17:00", "days": ["sat", "sun"]},
    )
    settings = settings_from_document(document)
    assert settings.rules["proofread"] == RuleSettings(False, Severity.INFO, None)
    assert settings.weekly_limit == 5
    assert settings.thank_you_delay == timedelta(hours=12)
    assert settings.check_in_delay == timedelta(days=10)
    assert settings.allowed_platforms == {Platform.LINKEDIN, Platform.TWITTER}
    assert settings.calling_hours == CallingHours(time(9, 30), time(17), frozenset({5, 6}))


def test_known_words_are_matched_without_regard_to_case() -> None:
    assert DEFAULT_SETTINGS.known_words == frozenset()
    document = {**DEFAULT_POLICY_DOCUMENT, "known_words": ["Kubeflow", "dbt", "DAGSTER"]}
    settings = settings_from_document(document)
    assert settings.known_words == {"kubeflow", "dbt", "dagster"}


def test_rules_left_out_of_the_document_keep_their_defaults() -> None:
    settings = settings_from_document({"rules": {"quiet-hours": {"enabled": False}}})
    assert settings.rules["quiet-hours"] == RuleSettings(False, Severity.WARN, None)
    assert settings.rules == {
        **DEFAULT_SETTINGS.rules,
        "quiet-hours": settings.rules["quiet-hours"],
    }
    assert settings_from_document({}) == DEFAULT_SETTINGS


def test_an_omitted_severity_after_decision_keeps_the_default_but_null_clears_it() -> None:
    omitted = settings_from_document({"rules": {"no-public-post": {"severity": "warn"}}})
    assert omitted.rules["no-public-post"] == RuleSettings(True, Severity.WARN, Severity.INFO)
    cleared = settings_from_document(
        {"rules": {"no-public-post": {"severity": "warn", "severity_after_decision": None}}}
    )
    assert cleared.rules["no-public-post"] == RuleSettings(True, Severity.WARN, None)


def test_unknown_rule_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="no-such-rule"):
        settings_from_document({"rules": {"no-such-rule": {"enabled": True}}})


def test_unknown_day_names_are_refused() -> None:
    with pytest.raises(ValueError, match="funday"):
        settings_from_document({"calling_hours": {"days": ["mon", "funday"]}})


def test_severity_after_decision_applies_only_after_the_decision() -> None:
    configured = RuleSettings(True, Severity.BLOCK, Severity.INFO)
    assert configured.severity_for(pending=True) is Severity.BLOCK
    assert configured.severity_for(pending=False) is Severity.INFO
    assert RuleSettings(True, Severity.WARN).severity_for(pending=False) is Severity.WARN


def _at(weekday: int, clock: time) -> datetime:
    """A UTC time on the given weekday (2025-03-03 is a Monday)."""
    return datetime(2025, 3, 3 + weekday, clock.hour, clock.minute, tzinfo=UTC)


def test_calling_hours_include_the_start_and_exclude_the_end() -> None:
    hours = DEFAULT_SETTINGS.calling_hours
    assert hours.allows(_at(0, time(8, 0)))
    assert not hours.allows(_at(0, time(7, 59)))
    assert hours.allows(_at(4, time(17, 59)))
    assert not hours.allows(_at(4, time(18, 0)))
    assert not hours.allows(_at(5, time(12, 0)))
    assert hours.describe() == "08:00-18:00, Mon-Fri"


def test_calling_hours_may_span_midnight() -> None:
    night_shift = CallingHours(time(22, 0), time(6, 0), frozenset({4}))  # Friday night
    assert night_shift.allows(_at(4, time(23, 0)))
    assert night_shift.allows(_at(5, time(5, 59)))
    assert not night_shift.allows(_at(5, time(6, 0)))
    assert not night_shift.allows(_at(4, time(5, 0)))
    assert not night_shift.allows(_at(3, time(23, 0)))


def test_equal_start_and_end_mean_the_whole_day() -> None:
    weekends = CallingHours(time(0, 0), time(0, 0), frozenset({5, 6}))
    assert weekends.allows(_at(5, time(0, 0)))
    assert weekends.allows(_at(6, time(23, 59)))
    assert not weekends.allows(_at(0, time(12, 0)))
    assert weekends.describe() == "00:00-00:00, Sat, Sun"


def test_reply_window_is_read_from_the_document() -> None:
    assert DEFAULT_SETTINGS.reply_window == timedelta(hours=72)
    assert settings_from_document({"reply_window": "PT0S"}).reply_window == timedelta(0)
    assert settings_from_document({"reply_window": "P30D"}).reply_window == timedelta(days=30)
    assert settings_from_document({}).reply_window == timedelta(hours=72)
