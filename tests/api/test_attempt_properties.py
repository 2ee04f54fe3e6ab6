"""Properties of recording vs evaluating, through the API on a real database.

Each example builds its own account and interview, so examples never see each other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.factories import create_contact, create_interview
from tests.conftest import NewAccount

CHANNELS = ["email", "phone_call", "voicemail", "text_message", "in_person", "other"]
SOCIAL = ["social_connection", "social_message", "public_post"]

attempt_strategy = st.fixed_dictionaries(
    {
        "channel": st.sampled_from(CHANNELS + SOCIAL),
        "direction": st.sampled_from(["outbound", "outbound", "inbound"]),
        "target": st.sampled_from(["hm", "referee", None]),
        "hours_after_end": st.integers(min_value=-2, max_value=24 * 12),
    }
)


def payload(spec: dict[str, Any], ends_at: datetime, contacts: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": spec["channel"],
        "direction": spec["direction"],
        "occurred_at": (ends_at + timedelta(hours=spec["hours_after_end"])).isoformat(),
    }
    if spec["channel"] in SOCIAL:
        body["platform"] = "linkedin"
    if spec["target"] and spec["channel"] != "public_post":
        body["contact_id"] = contacts[spec["target"]]
    if spec["channel"] in ("email", "text_message", "social_message", "public_post"):
        body["body"] = "Dear Morgan,\n\nThank you for the interview.\n\nBest regards,\nJordan"
    return body


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(earlier=st.lists(attempt_strategy, max_size=5), candidate=attempt_strategy)
async def test_record_agrees_with_evaluate_and_rejection_changes_no_attempt(
    new_account: NewAccount, earlier: list[dict[str, Any]], candidate: dict[str, Any]
) -> None:
    api = await new_account("Property")
    ends_at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=14)
    interview = await create_interview(
        api,
        starts_at=(ends_at - timedelta(hours=1)).isoformat(),
        ends_at=ends_at.isoformat(),
    )
    contacts = {
        "hm": (await create_contact(api, interview["id"]))["id"],
        "referee": (await create_contact(api, interview["id"], role="referee"))["id"],
    }
    url = f"/v1/interviews/{interview['id']}/contact-attempts"
    for spec in earlier:
        await api.post(url, json=payload(spec, ends_at, contacts))

    body = payload(candidate, ends_at, contacts)
    stored_before = (await api.get(url, params={"limit": 200})).json()["data"]
    events_before = (await api.get("/v1/events", params={"limit": 200})).json()["data"]
    evaluated = (await api.post(f"{url}/evaluate", json=body)).json()
    recorded = await api.post(url, json=body)
    stored_after = (await api.get(url, params={"limit": 200})).json()["data"]
    events_after = (await api.get("/v1/events", params={"limit": 200})).json()["data"]
    new_events = [e["type"] for e in events_after[: len(events_after) - len(events_before)]]

    if candidate["direction"] == "inbound":
        assert evaluated["verdict"] != "rejected"
    if evaluated["verdict"] == "rejected":
        assert recorded.status_code == 422
        assert recorded.json()["type"] == "/problems/policy-violation"
        assert recorded.json()["findings"] == evaluated["findings"]
        assert stored_after == stored_before
        assert new_events == ["contact_attempt.rejected"]
    else:
        assert recorded.status_code == 201, recorded.text
        assert recorded.json()["verdict"] == evaluated["verdict"]
        assert recorded.json()["findings"] == evaluated["findings"]
        assert [a["id"] for a in stored_after if a not in stored_before] == [recorded.json()["id"]]
        expected = {"contact_attempt.recorded"}
        if evaluated["verdict"] == "flagged":
            expected.add("contact_attempt.flagged")
        assert set(new_events) == expected
        assert len(new_events) == len(expected)
