"""Replies, the courtesy note, offers and posts (contract v2, sections 5 and 6) through
the API: what is stored, what events carry, and what bad input gets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.factories import create_contact, create_interview
from tests.api.test_accounts import assert_problem

T = datetime(2020, 3, 2, 10, 0, tzinfo=UTC)
"""The interview's end: Monday 10:00 in London (GMT), so calls that day are welcome."""

CLEAN_EMAIL = (
    "Dear Morgan,\n\nThank you for meeting with me yesterday about the Data Analyst role. "
    "I enjoyed learning about the team and I am excited about the work.\n\n"
    "Kind regards,\nJordan"
)


def at(hours: float) -> str:
    return (T + timedelta(hours=hours)).isoformat()


class Scene:
    """An interview that ended at T, with a recruiter, recorded through one client."""

    def __init__(self, api: httpx.AsyncClient, interview: dict[str, Any], contact: str) -> None:
        self.api = api
        self.interview = interview
        self.contact = contact
        self.url = f"/v1/interviews/{interview['id']}/contact-attempts"

    async def post(self, **fields: Any) -> httpx.Response:
        return await self.api.post(self.url, json={"contact_id": self.contact, **fields})

    async def record(self, **fields: Any) -> dict[str, Any]:
        response = await self.post(**fields)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def evaluate(self, **fields: Any) -> dict[str, Any]:
        body = {"contact_id": self.contact, **fields}
        response = await self.api.post(f"{self.url}/evaluate", json=body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def stored(self) -> list[dict[str, Any]]:
        return list((await self.api.get(self.url, params={"limit": 200})).json()["data"])

    async def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": 200}
        if event_type is not None:
            params["type"] = event_type
        return list((await self.api.get("/v1/events", params=params)).json()["data"])


async def scene(api: httpx.AsyncClient) -> Scene:
    interview = await create_interview(
        api, starts_at=(T - timedelta(hours=1)).isoformat(), ends_at=T.isoformat()
    )
    contact = await create_contact(api, interview["id"], role="recruiter")
    return Scene(api, interview, contact["id"])


def rules(attempt: dict[str, Any]) -> list[str]:
    return [finding["rule"] for finding in attempt["findings"]]


# --- replies -----------------------------------------------------------------------------


async def test_an_explicit_reply_is_stored_with_reply_to_and_is_not_held_back(
    api: httpx.AsyncClient,
) -> None:
    s = await scene(api)
    theirs = await s.record(channel="email", direction="inbound", occurred_at=at(1))
    assert theirs["in_reply_to"] is None and theirs["reply_to"] is None
    reply = await s.record(
        channel="email", in_reply_to=theirs["id"], occurred_at=at(2), body=CLEAN_EMAIL
    )
    assert reply["in_reply_to"] == reply["reply_to"] == theirs["id"]
    assert reply["verdict"] == "allowed", reply["findings"]
    assert (await api.get(f"{s.url}/{reply['id']}")).json() == reply
    [recorded, _] = await s.events("contact_attempt.recorded")
    assert recorded["data"]["attempt"] == reply


async def test_the_same_email_without_the_recruiters_message_waits_24_hours(
    api: httpx.AsyncClient,
) -> None:
    s = await scene(api)
    alone = await s.record(channel="email", occurred_at=at(2), body=CLEAN_EMAIL)
    assert alone["reply_to"] is None
    assert rules(alone) == ["wait-24-hours"]


async def test_returning_a_missed_call_is_an_implicit_reply(api: httpx.AsyncClient) -> None:
    s = await scene(api)
    await s.record(channel="email", occurred_at=at(25), body=CLEAN_EMAIL)
    call = {"channel": "phone_call", "occurred_at": at(27)}
    before = await s.evaluate(**call)
    assert before["verdict"] == "rejected" and before["reply_to"] is None
    missed = await s.record(channel="phone_call", direction="inbound", occurred_at=at(26))
    evaluated = await s.evaluate(**call)
    assert evaluated == {"verdict": "allowed", "findings": [], "reply_to": missed["id"]}
    returned = await s.record(**call)
    assert returned["reply_to"] == missed["id"]
    assert returned["in_reply_to"] is None
    assert returned["verdict"] == "allowed"


async def test_a_call_after_the_reply_is_chasing_again(api: httpx.AsyncClient) -> None:
    s = await scene(api)
    await s.record(channel="email", occurred_at=at(25), body=CLEAN_EMAIL)
    missed = await s.record(channel="phone_call", direction="inbound", occurred_at=at(26))
    returned = await s.record(channel="phone_call", occurred_at=at(27))
    assert returned["reply_to"] == missed["id"]
    again = await s.post(channel="phone_call", occurred_at=at(28))
    problem = assert_problem(again, 422, "policy-violation")
    assert "no-repeat-calls" in [f["rule"] for f in problem["findings"]]  # type: ignore[union-attr]
    [rejected] = await s.events("contact_attempt.rejected")
    assert rejected["data"]["attempt"]["reply_to"] is None


async def test_a_zero_reply_window_leaves_only_explicit_replies(api: httpx.AsyncClient) -> None:
    s = await scene(api)
    policy = (await api.get("/v1/policy")).json()
    policy["reply_window"] = "PT0S"
    assert (await api.put("/v1/policy", json=policy)).json()["reply_window"] == "PT0S"
    theirs = await s.record(channel="email", direction="inbound", occurred_at=at(1))
    implicit = await s.evaluate(channel="email", occurred_at=at(2), body=CLEAN_EMAIL)
    assert implicit["reply_to"] is None
    assert [f["rule"] for f in implicit["findings"]] == ["wait-24-hours"]
    explicit = await s.evaluate(
        channel="email", occurred_at=at(2), body=CLEAN_EMAIL, in_reply_to=theirs["id"]
    )
    assert explicit == {"verdict": "allowed", "findings": [], "reply_to": theirs["id"]}


async def test_a_longer_reply_window_reaches_further_back(api: httpx.AsyncClient) -> None:
    s = await scene(api)
    await s.record(channel="email", occurred_at=at(25), body=CLEAN_EMAIL)
    missed = await s.record(channel="phone_call", direction="inbound", occurred_at=at(26))
    four_days_later = {"channel": "phone_call", "occurred_at": at(26 + 96)}
    assert (await s.evaluate(**four_days_later))["reply_to"] is None
    policy = (await api.get("/v1/policy")).json()
    policy["reply_window"] = "P5D"
    assert (await api.put("/v1/policy", json=policy)).status_code == 200
    assert (await s.evaluate(**four_days_later))["reply_to"] == missed["id"]


async def test_a_social_message_reply_on_their_platform_is_allowed(
    api: httpx.AsyncClient,
) -> None:
    s = await scene(api)
    theirs = await s.record(
        channel="social_message", platform="linkedin", direction="inbound", occurred_at=at(3)
    )
    reply = await s.record(
        channel="social_message",
        platform="linkedin",
        occurred_at=at(4),
        body="Thank you, Morgan. Thursday at ten suits me well.",
    )
    assert reply["reply_to"] == theirs["id"]
    assert "no-social-connection" not in rules(reply)


async def test_a_refused_reply_carries_in_reply_to_and_reply_to_in_its_event(
    api: httpx.AsyncClient,
) -> None:
    s = await scene(api)
    theirs = await s.record(
        channel="social_message", platform="linkedin", direction="inbound", occurred_at=at(3)
    )
    response = await s.post(
        channel="social_connection",
        platform="linkedin",
        occurred_at=at(4),
        in_reply_to=theirs["id"],
    )
    problem = assert_problem(response, 422, "policy-violation")
    assert [f["rule"] for f in problem["findings"]] == ["no-social-connection"]  # type: ignore[union-attr]
    [rejected] = await s.events("contact_attempt.rejected")
    assert rejected["data"]["attempt"]["in_reply_to"] == theirs["id"]
    assert rejected["data"]["attempt"]["reply_to"] == theirs["id"]
    assert [a["id"] for a in await s.stored()] == [theirs["id"]]


async def test_deleting_the_inbound_attempt_keeps_the_replys_record(api: httpx.AsyncClient) -> None:
    s = await scene(api)
    theirs = await s.record(channel="email", direction="inbound", occurred_at=at(1))
    reply = await s.record(channel="email", occurred_at=at(2), body=CLEAN_EMAIL)
    assert (await api.delete(f"{s.url}/{theirs['id']}")).status_code == 204
    kept = (await api.get(f"{s.url}/{reply['id']}")).json()
    assert kept["reply_to"] == theirs["id"]
    assert kept["verdict"] == reply["verdict"] == "allowed"


BAD_REPLIES = [
    "unknown",
    "outbound",
    "later",
    "same_instant",
    "other_interview",
    "from_inbound",
    "public_post",
]


@pytest.mark.parametrize("case", BAD_REPLIES)
async def test_a_bad_in_reply_to_is_422_with_its_loc_and_stores_nothing(
    api: httpx.AsyncClient, case: str
) -> None:
    s = await scene(api)
    other = await scene(api)
    inbound = await s.record(channel="email", direction="inbound", occurred_at=at(5))
    outbound = await s.record(channel="email", occurred_at=at(6), body=CLEAN_EMAIL)
    elsewhere = await other.record(channel="email", direction="inbound", occurred_at=at(1))
    bodies: dict[str, dict[str, Any]] = {
        "unknown": {"in_reply_to": "att_nowhere"},
        "outbound": {"in_reply_to": outbound["id"]},
        "later": {"in_reply_to": inbound["id"], "occurred_at": at(4)},
        "same_instant": {"in_reply_to": inbound["id"], "occurred_at": at(5)},
        "other_interview": {"in_reply_to": elsewhere["id"]},
        "from_inbound": {"in_reply_to": inbound["id"], "direction": "inbound"},
        "public_post": {
            "in_reply_to": inbound["id"],
            "channel": "public_post",
            "platform": "twitter",
            "contact_id": None,
        },
    }
    body = {"channel": "email", "occurred_at": at(30), "body": CLEAN_EMAIL, **bodies[case]}
    stored, events = await s.stored(), await s.events()
    for url in (s.url, f"{s.url}/evaluate"):
        problem = assert_problem(
            await api.post(url, json={"contact_id": s.contact, **body}), 422, "validation-error"
        )
        errors = problem["errors"]
        assert isinstance(errors, list)
        assert [error["loc"] for error in errors] == [["body", "in_reply_to"]]
        assert "in_reply_to" in errors[0]["msg"]
    assert await s.stored() == stored
    assert await s.events() == events


async def test_in_reply_to_names_an_inbound_attempt_in_clear_words(
    api: httpx.AsyncClient,
) -> None:
    s = await scene(api)
    outbound = await s.record(channel="email", occurred_at=at(6), body=CLEAN_EMAIL)
    problem = assert_problem(
        await s.post(channel="email", in_reply_to=outbound["id"], occurred_at=at(30)),
        422,
        "validation-error",
    )
    assert "must name an inbound attempt" in str(problem["detail"])


# --- the courtesy note, offers and posts --------------------------------------------------


async def test_the_first_note_after_a_rejection_is_a_courtesy_and_the_second_is_flagged(
    api: httpx.AsyncClient,
) -> None:
    s = await scene(api)
    patched = await api.patch(
        f"/v1/interviews/{s.interview['id']}", json={"decision": "rejected", "decided_at": at(72)}
    )
    assert patched.status_code == 200, patched.text
    courtesy = await s.record(channel="email", occurred_at=at(73), body=CLEAN_EMAIL)
    assert "after-decision" not in rules(courtesy)
    again = await s.record(channel="email", occurred_at=at(97), body=CLEAN_EMAIL)
    assert "after-decision" in rules(again)
    assert again["verdict"] == "flagged"


async def test_after_an_offer_calls_and_emails_are_not_chasing(api: httpx.AsyncClient) -> None:
    s = await scene(api)
    patched = await api.patch(
        f"/v1/interviews/{s.interview['id']}", json={"decision": "offer", "decided_at": at(1)}
    )
    assert patched.status_code == 200, patched.text
    steps = [
        {"channel": "email", "occurred_at": at(2), "body": CLEAN_EMAIL},
        {"channel": "phone_call", "occurred_at": at(3)},
        {"channel": "voicemail", "occurred_at": at(4)},
        {"channel": "voicemail", "occurred_at": at(5)},
        {"channel": "email", "occurred_at": at(6), "body": CLEAN_EMAIL},
    ]
    for step in steps:
        recorded = await s.record(**step)
        assert recorded["verdict"] == "allowed", (step, recorded["findings"])


async def test_an_unrelated_post_is_allowed_with_an_information_finding(
    api: httpx.AsyncClient,
) -> None:
    s = await scene(api)
    post = await s.record(
        channel="public_post",
        platform="twitter",
        contact_id=None,
        occurred_at=at(30),
        body="Ran my first half marathon today!",
    )
    assert post["verdict"] == "allowed"
    [note] = post["findings"]
    assert note["rule"] == "no-public-post"
    assert note["severity"] == "info"
    assert "judged unrelated" in note["message"]


async def test_a_post_naming_the_company_is_refused(api: httpx.AsyncClient) -> None:
    s = await scene(api)
    response = await s.post(
        channel="public_post",
        platform="twitter",
        contact_id=None,
        occurred_at=at(30),
        body="Lovely afternoon with the team at Northwind Traders.",
    )
    problem = assert_problem(response, 422, "policy-violation")
    [found] = [f for f in problem["findings"] if f["rule"] == "no-public-post"]  # type: ignore[union-attr]
    assert found["severity"] == "block"
    assert found["details"][0]["mentions"] == ["Northwind Traders"]
    assert await s.stored() == []
