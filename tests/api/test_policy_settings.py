"""Contract section 6.1: GET/PUT /v1/policy."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from tests.api.factories import create_interview
from tests.api.test_accounts import assert_problem
from tests.conftest import NewAccount

CONTRACT_DEFAULTS = {
    "rules": {
        "wait-24-hours": {"enabled": True, "severity": "warn"},
        "no-repeat-calls": {"enabled": True, "severity": "block"},
        "one-follow-up-email": {"enabled": True, "severity": "warn"},
        "multiple-voicemails": {"enabled": True, "severity": "block"},
        "weekly-contact-limit": {"enabled": True, "severity": "block"},
        "no-social-connection": {
            "enabled": True,
            "severity": "block",
            "severity_after_decision": "warn",
        },
        "no-public-post": {"enabled": True, "severity": "block", "severity_after_decision": "info"},
        "proofread": {"enabled": True, "severity": "warn"},
        "after-decision": {"enabled": True, "severity": "warn"},
        "quiet-hours": {"enabled": True, "severity": "warn"},
    },
    "weekly_limit": 2,
    "thank_you_delay": "PT24H",
    "check_in_delay": "P7D",
    "allowed_platforms": [],
    "known_words": [],
    "reply_window": "PT72H",
    "calling_hours": {
        "start": "08:00",
        "end": "18:00",
        "days": ["mon", "tue", "wed", "thu", "fri"],
    },
}


async def test_defaults_are_the_contract_document(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/policy")
    assert response.status_code == 200
    assert response.json() == CONTRACT_DEFAULTS


async def test_put_accepts_what_get_returns_and_replaces(api: httpx.AsyncClient) -> None:
    document = (await api.get("/v1/policy")).json()
    assert (await api.put("/v1/policy", json=document)).json() == document
    changed = copy.deepcopy(document)
    changed["weekly_limit"] = 3
    changed["rules"]["proofread"] = {"enabled": False, "severity": "info"}
    changed["calling_hours"]["days"] = ["sat"]
    changed["thank_you_delay"] = "PT12H"
    put = await api.put("/v1/policy", json=changed)
    assert put.status_code == 200
    assert put.json() == changed
    assert (await api.get("/v1/policy")).json() == changed


async def test_policy_is_per_account(new_account: NewAccount) -> None:
    alice = await new_account("Alice")
    bob = await new_account("Bob")
    document = copy.deepcopy(CONTRACT_DEFAULTS)
    document["weekly_limit"] = 9
    await alice.put("/v1/policy", json=document)
    assert (await bob.get("/v1/policy")).json()["weekly_limit"] == 2


def _with(path: list[str], value: Any) -> dict[str, Any]:
    document = copy.deepcopy(CONTRACT_DEFAULTS)
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


@pytest.mark.parametrize(
    "document",
    [
        _with(["rules", "be-nice"], {"enabled": True, "severity": "warn"}),
        _with(["rules", "proofread"], {"enabled": True, "severity": "fatal"}),
        _with(["rules", "proofread", "colour"], "red"),
        _with(["rules", "proofread", "severity_after_decision"], "info"),
        _with(["thank_you_delay"], "24 hours"),
        _with(["thank_you_delay"], "P366D"),
        _with(["check_in_delay"], "-P1D"),
        _with(["check_in_delay"], "P1M"),
        _with(["weekly_limit"], 0),
        _with(["weekly_limit"], 51),
        _with(["allowed_platforms"], ["myspace"]),
        _with(["calling_hours", "start"], "25:00"),
        _with(["calling_hours", "days"], ["funday"]),
        _with(["calling_hours"], {"start": "18:00", "end": "08:00", "days": ["mon"]}),
        _with(["snooze"], True),
        _with(["known_words"], ["ok"] * 1001),
        _with(["known_words"], [""]),
        _with(["known_words"], ["   "]),
        _with(["known_words"], ["x" * 65]),
        _with(["known_words"], [42]),
        _with(["known_words"], "Kubeflow"),
    ],
)
async def test_invalid_documents_are_422_and_change_nothing(
    api: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    assert_problem(await api.put("/v1/policy", json=document), 422, "validation-error")
    assert (await api.get("/v1/policy")).json() == CONTRACT_DEFAULTS


async def test_delay_change_moves_windows_that_have_not_opened(api: httpx.AsyncClient) -> None:
    interview = await create_interview(
        api, starts_at="2099-01-01T10:00:00Z", ends_at="2099-01-01T11:00:00Z"
    )
    before = {w["kind"]: w["opens_at"] for w in interview["windows"]}
    assert before["thank_you"] == "2099-01-02T11:00:00Z"
    await api.put("/v1/policy", json=_with(["thank_you_delay"], "PT48H"))
    after = (await api.get(f"/v1/interviews/{interview['id']}")).json()
    opened = {w["kind"]: w["opens_at"] for w in after["windows"]}
    assert opened["thank_you"] == "2099-01-03T11:00:00Z"
    assert opened["check_in"] == "2099-01-08T11:00:00Z"


async def test_delay_change_leaves_windows_that_are_no_longer_pending(
    api: httpx.AsyncClient,
) -> None:
    decided = await create_interview(api, starts_at="2099-01-01T10:00:00Z")
    url = f"/v1/interviews/{decided['id']}"
    await api.patch(url, json={"decision": "withdrawn"})
    pending = await create_interview(api, starts_at="2099-01-01T10:00:00Z")
    await api.put("/v1/policy", json=_with(["thank_you_delay"], "PT48H"))
    cancelled = {w["kind"]: w for w in (await api.get(url)).json()["windows"]}
    assert cancelled["thank_you"]["state"] == "cancelled"
    assert cancelled["thank_you"]["opens_at"] == "2099-01-02T11:00:00Z"
    moved = (await api.get(f"/v1/interviews/{pending['id']}")).json()["windows"]
    assert {w["kind"]: w["opens_at"] for w in moved}["thank_you"] == "2099-01-03T11:00:00Z"


@pytest.mark.parametrize("window", ["PT0S", "PT1H", "P30D", "P4W"])
async def test_reply_window_accepts_pt0s_to_p30d(api: httpx.AsyncClient, window: str) -> None:
    response = await api.put("/v1/policy", json=_with(["reply_window"], window))
    assert response.status_code == 200, response.text
    assert response.json()["reply_window"] == window
    assert (await api.get("/v1/policy")).json()["reply_window"] == window


@pytest.mark.parametrize("window", ["P30DT1S", "P31D", "-PT1H", "P1M", "72 hours", "", 72])
async def test_reply_window_outside_pt0s_to_p30d_is_422_and_changes_nothing(
    api: httpx.AsyncClient, window: object
) -> None:
    problem = assert_problem(
        await api.put("/v1/policy", json=_with(["reply_window"], window)), 422, "validation-error"
    )
    assert ["body", "reply_window"] in [e["loc"] for e in problem["errors"]]  # type: ignore[union-attr]
    assert (await api.get("/v1/policy")).json() == CONTRACT_DEFAULTS


async def test_a_policy_stored_before_reply_window_existed_reads_the_default(
    api: httpx.AsyncClient,
) -> None:
    document = copy.deepcopy(CONTRACT_DEFAULTS)
    del document["reply_window"]
    assert (await api.put("/v1/policy", json=document)).json()["reply_window"] == "PT72H"


async def test_known_words_are_returned_as_given_and_quiet_the_proofreader(
    api: httpx.AsyncClient,
) -> None:
    interview = await create_interview(api, starts_at="2026-11-02T10:00:00Z")
    url = f"/v1/interviews/{interview['id']}/contact-attempts/evaluate"
    text = {"channel": "text_message", "occurred_at": "2026-11-04T10:00:00Z"}
    body = {**text, "body": "Thanks! Our bazel builds run in CI."}
    before = (await api.post(url, json=body)).json()["findings"]
    assert [(f["rule"], f["details"][0]["text"]) for f in before] == [("proofread", "bazel")]

    words = ["BAZEL", "x" * 64, *[f"word{i}" for i in range(998)]]
    put = await api.put("/v1/policy", json=_with(["known_words"], words))
    assert put.status_code == 200, put.text
    assert put.json()["known_words"] == words
    assert (await api.get("/v1/policy")).json()["known_words"] == words
    after = (await api.post(url, json=body)).json()
    assert after["verdict"] == "allowed"
    assert [f["rule"] for f in after["findings"]] == []
