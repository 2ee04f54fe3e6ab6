"""Contract section 5 through the API: every status code, storage and events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from tests.api.factories import create_contact, create_interview
from tests.api.test_accounts import assert_problem
from tests.conftest import NewAccount

CLEAN_EMAIL = (
    "Dear Morgan,\n\nThank you for meeting with me yesterday about the Data Analyst role. "
    "I enjoyed learning about the team and I am excited about the work.\n\n"
    "Kind regards,\nJordan"
)


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def setup_interview(api: httpx.AsyncClient, ended_hours_ago: float = 48) -> dict[str, Any]:
    starts = datetime.now(UTC) - timedelta(hours=ended_hours_ago + 1)
    return await create_interview(api, starts_at=iso(starts))


def attempts_url(interview: dict[str, Any]) -> str:
    return f"/v1/interviews/{interview['id']}/contact-attempts"


async def event_types(api: httpx.AsyncClient) -> list[str]:
    return [e["type"] for e in (await api.get("/v1/events", params={"limit": 200})).json()["data"]]


async def test_allowed_email_is_stored_and_returned_as_get_returns_it(
    api: httpx.AsyncClient,
) -> None:
    interview = await setup_interview(api)
    contact = await create_contact(api, interview["id"])
    response = await api.post(
        attempts_url(interview),
        json={
            "channel": "email",
            "contact_id": contact["id"],
            "purpose": "thank_you",
            "subject": "Thank you",
            "body": CLEAN_EMAIL,
        },
    )
    assert response.status_code == 201, response.text
    attempt = response.json()
    assert attempt["verdict"] == "allowed"
    assert attempt["findings"] == []
    assert attempt["direction"] == "outbound"
    fetched = await api.get(f"{attempts_url(interview)}/{attempt['id']}")
    assert fetched.json() == attempt
    assert await event_types(api) == ["contact_attempt.recorded", "interview.created"]


async def test_flagged_attempt_is_stored_with_findings_and_emits_flagged(
    api: httpx.AsyncClient,
) -> None:
    interview = await setup_interview(api, ended_hours_ago=2)
    response = await api.post(
        attempts_url(interview), json={"channel": "email", "body": CLEAN_EMAIL}
    )
    assert response.status_code == 201, response.text
    attempt = response.json()
    assert attempt["verdict"] == "flagged"
    assert [f["rule"] for f in attempt["findings"]] == ["wait-24-hours"]
    assert (
        "24 hours since your meeting"
        in attempt["findings"][0]["message"] + attempt["findings"][0]["advice"]
    )
    types = await event_types(api)
    assert sorted(types) == sorted(
        ["interview.created", "contact_attempt.recorded", "contact_attempt.flagged"]
    )
    flagged = (await api.get("/v1/events", params={"type": "contact_attempt.flagged"})).json()
    assert flagged["data"][0]["data"]["attempt"] == attempt
    assert flagged["data"][0]["data"]["verdict"] == "flagged"


async def test_blocked_attempt_is_422_stores_nothing_and_emits_rejected(
    api: httpx.AsyncClient,
) -> None:
    interview = await setup_interview(api)
    response = await api.post(
        attempts_url(interview),
        json={"channel": "public_post", "platform": "linkedin", "body": "Great interview today!"},
    )
    problem = assert_problem(response, 422, "policy-violation")
    findings = problem["findings"]
    assert isinstance(findings, list)
    assert findings[0]["rule"] == "no-public-post"
    assert findings[0]["severity"] == "block"
    assert "abstain from posting about your interview" in (
        findings[0]["message"] + findings[0]["advice"]
    )
    assert (await api.get(attempts_url(interview))).json()["data"] == []
    rejected = (await api.get("/v1/events", params={"type": "contact_attempt.rejected"})).json()
    assert len(rejected["data"]) == 1
    data = rejected["data"][0]["data"]
    assert data["verdict"] == "rejected"
    assert data["interview_id"] == interview["id"]
    assert data["attempt"]["channel"] == "public_post"
    assert data["findings"] == findings


async def test_evaluate_stores_nothing_and_emits_nothing(api: httpx.AsyncClient) -> None:
    interview = await setup_interview(api)
    before = await event_types(api)
    response = await api.post(
        f"{attempts_url(interview)}/evaluate",
        json={"channel": "social_connection", "platform": "facebook"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == "rejected"
    assert body["findings"][0]["rule"] == "no-social-connection"
    assert await event_types(api) == before
    assert (await api.get(attempts_url(interview))).json()["data"] == []


async def test_evaluate_accepts_a_planned_future_attempt_but_record_does_not(
    api: httpx.AsyncClient,
) -> None:
    interview = await setup_interview(api)
    later = iso(datetime.now(UTC) + timedelta(days=3))
    body = {"channel": "email", "occurred_at": later, "body": CLEAN_EMAIL}
    assert (await api.post(f"{attempts_url(interview)}/evaluate", json=body)).status_code == 200
    problem = assert_problem(
        await api.post(attempts_url(interview), json=body), 422, "validation-error"
    )
    assert ["body", "occurred_at"] in [e["loc"] for e in problem["errors"]]  # type: ignore[union-attr]


async def test_recording_and_evaluating_agree_on_the_verdict(api: httpx.AsyncClient) -> None:
    interview = await setup_interview(api, ended_hours_ago=30)
    sequence: list[dict[str, Any]] = [
        {"channel": "email", "body": CLEAN_EMAIL},
        {"channel": "phone_call"},
        {"channel": "voicemail"},
        {"channel": "email", "body": "hi"},
    ]
    for step, body in enumerate(sequence):
        at = datetime.now(UTC) - timedelta(hours=len(sequence) - step)
        payload = {**body, "occurred_at": iso(at)}
        evaluated = (await api.post(f"{attempts_url(interview)}/evaluate", json=payload)).json()
        recorded = await api.post(attempts_url(interview), json=payload)
        if evaluated["verdict"] == "rejected":
            assert recorded.status_code == 422
            assert recorded.json()["findings"] == evaluated["findings"]
        else:
            assert recorded.status_code == 201
            assert recorded.json()["verdict"] == evaluated["verdict"]
            assert recorded.json()["findings"] == evaluated["findings"]


async def test_second_voicemail_within_a_week_is_blocked(api: httpx.AsyncClient) -> None:
    interview = await setup_interview(api, ended_hours_ago=24 * 9)
    now = datetime.now(UTC)
    first = await api.post(
        attempts_url(interview),
        json={"channel": "voicemail", "occurred_at": iso(now - timedelta(days=2))},
    )
    assert first.status_code == 201, first.text
    second = await api.post(attempts_url(interview), json={"channel": "voicemail"})
    problem = assert_problem(second, 422, "policy-violation")
    assert "multiple-voicemails" in [f["rule"] for f in problem["findings"]]  # type: ignore[union-attr]


async def test_inbound_attempts_are_never_blocked(api: httpx.AsyncClient) -> None:
    interview = await setup_interview(api)
    response = await api.post(
        attempts_url(interview),
        json={"channel": "social_connection", "platform": "linkedin", "direction": "inbound"},
    )
    assert response.status_code == 201
    assert response.json()["verdict"] == "allowed"


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "fax"},
        {"channel": "social_connection"},
        {"channel": "public_post", "platform": "myspace"},
        {"channel": "email", "direction": "sideways"},
        {"channel": "email", "purpose": "bribe"},
        {"channel": "email", "subject": "s" * 501},
        {"channel": "email", "body": "b" * 50_001},
        {"channel": "email", "occurred_at": "2026-11-02T10:00:00"},
        {"channel": "email", "cc": "boss@example.com"},
        {"channel": "public_post", "platform": "twitter", "contact_id": "cont_x"},
        {"channel": "email", "contact_id": "cont_unknown"},
    ],
)
async def test_invalid_attempts_are_422_validation_errors(
    api: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    interview = await setup_interview(api)
    for url in (attempts_url(interview), f"{attempts_url(interview)}/evaluate"):
        assert_problem(await api.post(url, json=body), 422, "validation-error")
    assert (await api.get(attempts_url(interview))).json()["data"] == []


async def test_contact_of_another_interview_is_422(api: httpx.AsyncClient) -> None:
    interview = await setup_interview(api)
    other = await setup_interview(api)
    stranger = await create_contact(api, other["id"])
    response = await api.post(
        attempts_url(interview), json={"channel": "email", "contact_id": stranger["id"]}
    )
    problem = assert_problem(response, 422, "validation-error")
    assert ["body", "contact_id"] in [e["loc"] for e in problem["errors"]]  # type: ignore[union-attr]


async def test_list_get_delete_and_isolation(
    api: httpx.AsyncClient, new_account: NewAccount
) -> None:
    interview = await setup_interview(api)
    now = datetime.now(UTC)
    made = []
    for hours in (5, 3, 1):
        response = await api.post(
            attempts_url(interview),
            json={
                "channel": "in_person",
                "direction": "inbound",
                "occurred_at": iso(now - timedelta(hours=hours)),
            },
        )
        made.append(response.json()["id"])
    listed = (await api.get(attempts_url(interview), params={"limit": 2})).json()
    assert [a["id"] for a in listed["data"]] == [made[2], made[1]]
    rest = (
        await api.get(attempts_url(interview), params={"limit": 2, "cursor": listed["next_cursor"]})
    ).json()
    assert [a["id"] for a in rest["data"]] == [made[0]]

    intruder = await new_account("Intruder")
    assert_problem(await intruder.get(attempts_url(interview)), 404, "not-found")
    assert_problem(await intruder.get(f"{attempts_url(interview)}/{made[0]}"), 404, "not-found")
    assert_problem(
        await intruder.post(attempts_url(interview), json={"channel": "email"}), 404, "not-found"
    )
    assert (await api.delete(f"{attempts_url(interview)}/{made[0]}")).status_code == 204
    assert_problem(await api.get(f"{attempts_url(interview)}/{made[0]}"), 404, "not-found")
    assert_problem(await api.delete(f"{attempts_url(interview)}/{made[0]}"), 404, "not-found")


async def test_unauthenticated_attempt_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/interviews/intv_x/contact-attempts", json={"channel": "email"}
    )
    assert_problem(response, 401, "unauthorized")


async def test_policy_change_applies_to_later_evaluations(api: httpx.AsyncClient) -> None:
    interview = await setup_interview(api)
    body = {"channel": "social_connection", "platform": "linkedin"}
    url = f"{attempts_url(interview)}/evaluate"
    assert (await api.post(url, json=body)).json()["verdict"] == "rejected"
    policy = (await api.get("/v1/policy")).json()
    policy["allowed_platforms"] = ["linkedin"]
    assert (await api.put("/v1/policy", json=policy)).status_code == 200
    after = (await api.post(url, json=body)).json()
    assert after["verdict"] == "flagged"
    assert after["findings"][0]["severity"] == "warn"


async def test_evaluate_reads_without_taking_the_write_lock(
    api: httpx.AsyncClient, app: Any
) -> None:
    """Evaluate stores nothing, so it reads through the reading engine: on SQLite a
    deferred BEGIN (readers never queue behind the writer), never BEGIN IMMEDIATE."""
    engine = app.state.engine
    if engine.dialect.name != "sqlite":
        pytest.skip("the write lock taken by BEGIN IMMEDIATE is SQLite's")
    interview = await create_interview(api, starts_at="2026-11-02T10:00:00Z")
    url = f"/v1/interviews/{interview['id']}/contact-attempts"
    body = {"channel": "email", "occurred_at": "2026-11-04T10:00:00Z"}
    begins: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.startswith("BEGIN"):
            begins.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        evaluated = await api.post(f"{url}/evaluate", json=body)
        evaluate_begins = list(begins)
        begins.clear()
        recorded = await api.post(url, json=body)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    assert evaluated.status_code == 200 and recorded.status_code == 201
    assert evaluate_begins == ["BEGIN"]
    assert begins == ["BEGIN IMMEDIATE"], "recording still writes under the write lock"
