"""The dispatcher's steps against a real local receiver: signing, retries, the attempt log,
410, Retry-After, rotation, redirects, timeouts, leases and the send-time SSRF check."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.api.deps import get_resolver
from app.clock import utcnow
from app.db.models import WebhookDelivery, WebhookEndpoint
from app.enums import DeliveryStatus, EventType
from app.main import create_app
from app.schemas.events import EVENT_EXAMPLES
from app.services.events import record_event
from app.services.leases import WorkItem, claim_due, lease_for, record_results
from app.settings import Settings
from app.webhooks.sender import AttemptResult
from app.worker.dispatcher import AHEAD, Dispatcher
from tests.receiver import Receiver, Reply
from tests.worker.helpers import (
    account_id,
    attempts_of,
    create_endpoint,
    deliveries_of,
    dispatch,
    endpoint_row,
    record,
    record_one,
    send,
)

Sessions = async_sessionmaker[AsyncSession]


def verify(secret: str, body: bytes, headers: dict[str, str]) -> Any:
    return Webhook(secret).verify(body, headers)


async def test_delivery_is_signed_per_standard_webhooks(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    endpoint = await create_endpoint(api, receiver.url())
    event = await record(sessionmaker, await account_id(api))

    outcomes = await dispatch(sessionmaker, http, worker_settings)

    assert [o.status for o in outcomes if o] == [DeliveryStatus.SUCCEEDED]
    [request] = receiver.received("/hook")
    assert request.headers["webhook-id"] == event.id
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-signature"].startswith("v1,")
    assert abs(int(request.headers["webhook-timestamp"]) - utcnow().timestamp()) < 60
    payload = verify(endpoint["secret"], request.body, request.headers)
    served = (await api.get(f"/v1/events/{event.id}")).json()
    assert payload == served
    assert set(payload) == {"id", "type", "created_at", "data"}
    assert payload["created_at"].endswith("Z")
    with pytest.raises(WebhookVerificationError):
        verify("whsec_" + "A" * 44, request.body, request.headers)


async def test_retries_keep_the_webhook_id_and_log_every_attempt(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    receiver.reply(
        "/hook",
        Reply(500, body=b"boom"),
        Reply(502, body=b"bad gateway"),
        Reply(200, body=b"thanks"),
    )
    endpoint = await create_endpoint(api, receiver.url())
    event = await record(sessionmaker, await account_id(api))

    first = await dispatch(sessionmaker, http, worker_settings)
    assert first[0] is not None and first[0].status == DeliveryStatus.PENDING
    nothing = await dispatch(sessionmaker, http, worker_settings)
    assert nothing == [], "the retry is not due yet"
    later = utcnow() + timedelta(minutes=1)
    await dispatch(sessionmaker, http, worker_settings, now=later)
    await dispatch(sessionmaker, http, worker_settings, now=later + timedelta(minutes=1))

    requests = receiver.received("/hook")
    assert [r.webhook_id for r in requests] == [event.id] * 3
    assert len({r.body for r in requests}) == 1, "every retry sends the same body"
    for request in requests:
        verify(endpoint["secret"], request.body, request.headers)
    [delivery] = await deliveries_of(sessionmaker, event.id)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempt_count == 3
    assert delivery.next_attempt_at is None
    attempts = await attempts_of(sessionmaker, delivery.id)
    assert [a.status_code for a in attempts] == [500, 502, 200]
    assert [a.response_body for a in attempts] == ["boom", "bad gateway", "thanks"]
    assert all(a.duration_ms >= 0 and a.error is None for a in attempts)
    assert (await endpoint_row(sessionmaker, endpoint["id"])).failing_since is None


async def test_failure_schedules_the_next_try_from_the_schedule(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    receiver.reply("/hook", Reply(500))
    settings = worker_settings.model_copy(update={"webhook_retry_schedule": (100.0,)})
    endpoint = await create_endpoint(api, receiver.url())
    event = await record(sessionmaker, await account_id(api))
    now = utcnow()

    [outcome] = await dispatch(sessionmaker, http, settings, now=now)

    assert outcome is not None and outcome.next_attempt_at is not None
    delay = (outcome.next_attempt_at - now).total_seconds()
    assert 80 <= delay <= 120, "5-step schedule with ±20 % jitter"
    assert (await endpoint_row(sessionmaker, endpoint["id"])).failing_since is not None
    [exhausted] = await dispatch(sessionmaker, http, settings, now=now + timedelta(seconds=200))
    assert exhausted is not None and exhausted.status == DeliveryStatus.FAILED
    [delivery] = await deliveries_of(sessionmaker, event.id)
    assert (delivery.status, delivery.attempt_count) == ("failed", 2)


async def test_410_fails_the_delivery_and_disables_the_endpoint(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    receiver.reply("/hook", Reply(410, body=b"gone"))
    endpoint = await create_endpoint(api, receiver.url())
    account = await account_id(api)
    first = await record(sessionmaker, account)
    second = await record(sessionmaker, account)

    [outcome] = await dispatch(sessionmaker, http, worker_settings, limit=1)
    assert await dispatch(sessionmaker, http, worker_settings) == []

    assert len(receiver.received()) == 1, "nothing more is sent once it answered 410"
    assert outcome is not None and outcome.endpoint_disabled
    statuses = {
        d.event_id: d.status
        for event in (first, second)
        for d in await deliveries_of(sessionmaker, event.id)
    }
    assert sorted(statuses.values()) == ["failed", "pending"]
    shown = (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}")).json()
    assert shown["enabled"] is False
    assert "410" in shown["disabled_reason"]
    later = utcnow() + timedelta(hours=1)
    assert await dispatch(sessionmaker, http, worker_settings, now=later) == []
    third = await record(sessionmaker, account)
    assert await deliveries_of(sessionmaker, third.id) == [], "no fan-out to a disabled endpoint"


async def test_reenabling_sends_what_waited(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    endpoint = await create_endpoint(api, receiver.url())
    event = await record(sessionmaker, await account_id(api))
    await api.patch(f"/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": False})
    assert await dispatch(sessionmaker, http, worker_settings) == []

    patched = await api.patch(f"/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": True})

    assert patched.json()["disabled_reason"] is None
    await dispatch(sessionmaker, http, worker_settings)
    assert [r.webhook_id for r in receiver.received()] == [event.id]


@pytest.mark.parametrize(
    ("status", "retry_after", "minimum"),
    [(429, "120", 120.0), (503, "90", 90.0)],
)
async def test_retry_after_is_honoured_as_a_minimum(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
    status: int,
    retry_after: str,
    minimum: float,
) -> None:
    receiver.reply("/hook", Reply(status, headers={"Retry-After": retry_after}))
    await create_endpoint(api, receiver.url())
    await record(sessionmaker, await account_id(api))
    now = utcnow()

    [outcome] = await dispatch(sessionmaker, http, worker_settings, now=now)

    assert outcome is not None and outcome.next_attempt_at is not None
    assert (outcome.next_attempt_at - now).total_seconds() >= minimum
    soon = now + timedelta(seconds=minimum - 5)
    assert await dispatch(sessionmaker, http, worker_settings, now=soon) == []


async def test_retry_after_on_other_statuses_is_ignored(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    receiver.reply("/hook", Reply(500, headers={"Retry-After": "3600"}))
    await create_endpoint(api, receiver.url())
    await record(sessionmaker, await account_id(api))
    now = utcnow()

    [outcome] = await dispatch(sessionmaker, http, worker_settings, now=now)

    assert outcome is not None and outcome.next_attempt_at is not None
    assert (outcome.next_attempt_at - now).total_seconds() < 1


async def test_rotation_signs_with_both_secrets_for_24_hours(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    endpoint = await create_endpoint(api, receiver.url())
    old = endpoint["secret"]
    rotated = await api.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret")
    new = rotated.json()["secret"]
    account = await account_id(api)
    await record(sessionmaker, account)

    await dispatch(sessionmaker, http, worker_settings)

    [request] = receiver.received()
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    verify(old, request.body, request.headers)
    verify(new, request.body, request.headers)

    await record(sessionmaker, account)
    await dispatch(sessionmaker, http, worker_settings, now=utcnow() + timedelta(hours=25))
    latest = receiver.received()[-1]
    assert len(latest.headers["webhook-signature"].split(" ")) == 1
    verify(new, latest.body, latest.headers)
    with pytest.raises(WebhookVerificationError):
        verify(old, latest.body, latest.headers)


async def test_fan_out_follows_event_types_and_enabled(
    api: httpx.AsyncClient, sessionmaker: Sessions, receiver: Receiver
) -> None:
    every = await create_endpoint(api, receiver.url("/every"))
    created_only = await create_endpoint(
        api, receiver.url("/created"), event_types=["interview.created"]
    )
    await create_endpoint(api, receiver.url("/windows"), event_types=["followup.window_opened"])
    await create_endpoint(api, receiver.url("/off"), enabled=False)
    account = await account_id(api)

    created = await record(sessionmaker, account, EventType.INTERVIEW_CREATED)
    decided = await record(sessionmaker, account, EventType.INTERVIEW_DECIDED)
    test = await record(sessionmaker, account, EventType.WEBHOOK_TEST)

    created_to = {d.endpoint_id for d in await deliveries_of(sessionmaker, created.id)}
    assert created_to == {every["id"], created_only["id"]}
    decided_to = {d.endpoint_id for d in await deliveries_of(sessionmaker, decided.id)}
    assert decided_to == {every["id"]}
    assert await deliveries_of(sessionmaker, test.id) == [], "webhook.test goes via its route"


async def test_fan_out_is_in_the_events_transaction(
    api: httpx.AsyncClient, sessionmaker: Sessions, receiver: Receiver
) -> None:
    await create_endpoint(api, receiver.url())
    account = await account_id(api)
    async with sessionmaker() as session:
        await session.begin()
        event = await record_event(
            session,
            account,
            EventType.INTERVIEW_CREATED,
            EVENT_EXAMPLES[EventType.INTERVIEW_CREATED],
            utcnow(),
        )
        pending = await session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.event_id == event.id)
        )
        assert len(pending.all()) == 1, "written beside the event"
        await session.rollback()
    assert await deliveries_of(sessionmaker, event.id) == [], "and gone with it"


async def test_other_accounts_endpoints_get_nothing(
    api: httpx.AsyncClient, new_account: Any, sessionmaker: Sessions, receiver: Receiver
) -> None:
    other = await new_account("Other")
    await create_endpoint(other, receiver.url("/other"))
    mine = await create_endpoint(api, receiver.url("/mine"))
    event = await record(sessionmaker, await account_id(api))
    assert [d.endpoint_id for d in await deliveries_of(sessionmaker, event.id)] == [mine["id"]]


async def test_redirect_is_a_failed_attempt_and_not_followed(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    receiver.reply("/hook", Reply(302, headers={"Location": receiver.url("/elsewhere")}))
    await create_endpoint(api, receiver.url())
    event = await record(sessionmaker, await account_id(api))

    [outcome] = await dispatch(sessionmaker, http, worker_settings)

    assert outcome is not None and outcome.status == DeliveryStatus.PENDING
    assert receiver.received("/elsewhere") == []
    [delivery] = await deliveries_of(sessionmaker, event.id)
    [attempt] = await attempts_of(sessionmaker, delivery.id)
    assert attempt.status_code == 302
    assert attempt.error is not None and "redirect" in attempt.error


async def test_timeout_is_a_failed_attempt_with_an_error(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    receiver.reply("/hook", Reply(200, delay=3.0))
    settings = worker_settings.model_copy(update={"webhook_timeout": 0.5})
    await create_endpoint(api, receiver.url())
    event = await record(sessionmaker, await account_id(api))

    [outcome] = await dispatch(sessionmaker, http, settings)

    assert outcome is not None and outcome.status == DeliveryStatus.PENDING
    [delivery] = await deliveries_of(sessionmaker, event.id)
    [attempt] = await attempts_of(sessionmaker, delivery.id)
    assert attempt.status_code is None
    assert attempt.error == "timed out after 0.5 s"
    assert 400 <= attempt.duration_ms < 2000


async def test_connection_refused_is_a_failed_attempt(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
) -> None:
    closed = Receiver()
    url = closed.url()
    closed.close()
    await create_endpoint(api, url)
    event = await record(sessionmaker, await account_id(api))

    await dispatch(sessionmaker, http, worker_settings)

    [delivery] = await deliveries_of(sessionmaker, event.id)
    [attempt] = await attempts_of(sessionmaker, delivery.id)
    assert attempt.status_code is None
    assert attempt.error is not None and "ConnectError" in attempt.error


async def test_only_the_first_kibibyte_of_the_response_is_kept(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    receiver.reply("/hook", Reply(200, body=b"x" * 5000))
    await create_endpoint(api, receiver.url())
    event = await record(sessionmaker, await account_id(api))

    await dispatch(sessionmaker, http, worker_settings)

    [delivery] = await deliveries_of(sessionmaker, event.id)
    [attempt] = await attempts_of(sessionmaker, delivery.id)
    assert attempt.response_body == "x" * 1024


async def test_endpoint_failing_for_five_days_is_disabled(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    receiver.reply("/hook", Reply(500))
    endpoint = await create_endpoint(api, receiver.url())
    await record(sessionmaker, await account_id(api))
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint["id"])
            .values(failing_since=utcnow() - timedelta(days=5, minutes=1))
        )

    [outcome] = await dispatch(sessionmaker, http, worker_settings)

    assert outcome is not None and outcome.endpoint_disabled
    shown = (await api.get(f"/v1/webhook-endpoints/{endpoint['id']}")).json()
    assert shown["enabled"] is False
    assert "5 days" in shown["disabled_reason"]


async def test_failing_for_less_than_five_days_keeps_the_endpoint(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    receiver.reply("/hook", Reply(500))
    endpoint = await create_endpoint(api, receiver.url())
    await record(sessionmaker, await account_id(api))
    since = utcnow() - timedelta(days=4, hours=23)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint["id"])
            .values(failing_since=since)
        )

    [outcome] = await dispatch(sessionmaker, http, worker_settings)

    assert outcome is not None and not outcome.endpoint_disabled
    row = await endpoint_row(sessionmaker, endpoint["id"])
    assert row.enabled and row.failing_since == since


async def test_a_lost_lease_records_nothing(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    await create_endpoint(api, receiver.url())
    event = await record(sessionmaker, await account_id(api))
    now = utcnow()
    lease = lease_for(worker_settings)
    async with sessionmaker() as session, session.begin():
        [first] = await claim_due(session, now, 10, lease, box=worker_settings.secret_box())
    async with sessionmaker() as session, session.begin():
        assert await claim_due(session, now, 10, lease, box=worker_settings.secret_box()) == [], (
            "leased rows are skipped"
        )
    after_lease = now + lease + timedelta(seconds=1)
    async with sessionmaker() as session, session.begin():
        [second] = await claim_due(
            session, after_lease, 10, lease, box=worker_settings.secret_box()
        )
    assert second.delivery_id == first.delivery_id
    assert second.lease_token != first.lease_token

    result = await send(http, first, worker_settings)
    async with sessionmaker() as session, session.begin():
        stale = await record_one(session, first, result, worker_settings, utcnow(), seed=1)

    assert stale is None
    [delivery] = await deliveries_of(sessionmaker, event.id)
    assert delivery.status == "pending" and delivery.lease_token == second.lease_token
    assert await attempts_of(sessionmaker, delivery.id) == []


async def test_claim_honours_the_limit_and_the_per_endpoint_bound(
    api: httpx.AsyncClient, sessionmaker: Sessions, worker_settings: Settings, receiver: Receiver
) -> None:
    busy = await create_endpoint(api, receiver.url("/busy"))
    idle = await create_endpoint(api, receiver.url("/idle"))
    account = await account_id(api)
    for _ in range(4):
        await record(sessionmaker, account)
    lease = lease_for(worker_settings)

    async with sessionmaker() as session, session.begin():
        first = await claim_due(
            session,
            utcnow(),
            10,
            lease,
            box=worker_settings.secret_box(),
            per_endpoint=2,
            busy={busy["id"]: 1},
        )
        second = await claim_due(session, utcnow(), 3, lease, box=worker_settings.secret_box())
        rest = await claim_due(session, utcnow(), 10, lease, box=worker_settings.secret_box())

    assert sorted(i.endpoint_id for i in first) == sorted([busy["id"]] + [idle["id"]] * 2)
    assert len(second) == 3, "the limit"
    assert len(rest) == 8 - 3 - 3
    claimed = [i.delivery_id for i in first + second + rest]
    assert len(set(claimed)) == len(claimed) == 8, "nothing claimed twice"


async def test_lease_never_exceeds_sixty_seconds(worker_settings: Settings) -> None:
    assert lease_for(worker_settings) == timedelta(seconds=6)
    slow = worker_settings.model_copy(update={"webhook_timeout": 60.0})
    assert lease_for(slow) == timedelta(seconds=60)


class FakeDNS:
    """Answers each lookup of a name with the next address in its list (the last repeats)."""

    def __init__(self, **answers: Sequence[str]) -> None:
        self.answers = {name.replace("_", "."): list(addrs) for name, addrs in answers.items()}
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append(host)
        queue = self.answers[host]
        return [queue.pop(0) if len(queue) > 1 else queue[0]]


async def test_send_time_ssrf_check_refuses_a_rebound_host(
    settings: Settings,
    new_account: Any,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
) -> None:
    strict = settings.model_copy(update={"webhook_allow_private": False})
    dns = FakeDNS(hooks_example_com=["93.184.216.34", "127.0.0.1"])
    app = create_app(strict)
    app.dependency_overrides[get_resolver] = lambda: dns
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            api = await new_account()
            key = api.headers["authorization"]
            client.headers["authorization"] = key
            created = await client.post(
                "/v1/webhook-endpoints", json={"url": "http://hooks.example.com/hook"}
            )
            assert created.status_code == 201, created.text
            account = (await client.get("/v1/account")).json()["id"]
    finally:
        await app.state.engine.dispose()
    event = await record(sessionmaker, account)
    send_settings = worker_settings.model_copy(update={"webhook_allow_private": False})

    [outcome] = await dispatch(sessionmaker, http, send_settings, resolver=dns)

    assert dns.lookups == ["hooks.example.com", "hooks.example.com"]
    assert outcome is not None and outcome.status == DeliveryStatus.PENDING
    [delivery] = await deliveries_of(sessionmaker, event.id)
    [attempt] = await attempts_of(sessionmaker, delivery.id)
    assert attempt.status_code is None
    assert attempt.error is not None and "127.0.0.1" in attempt.error
    assert delivery.next_attempt_at is not None, "retried like any failure"


async def test_record_result_without_a_response_counts_as_failure(
    api: httpx.AsyncClient, sessionmaker: Sessions, worker_settings: Settings, receiver: Receiver
) -> None:
    endpoint = await create_endpoint(api, receiver.url())
    await record(sessionmaker, await account_id(api))
    now = utcnow()
    async with sessionmaker() as session, session.begin():
        [item] = await claim_due(
            session, now, 10, lease_for(worker_settings), box=worker_settings.secret_box()
        )
    result = AttemptResult(
        attempted_at=now,
        duration_ms=3,
        status_code=None,
        error="ConnectError: refused",
        response_body=None,
        retry_after=None,
    )
    async with sessionmaker() as session, session.begin():
        outcome = await record_one(session, item, result, worker_settings, now, seed=1)
    assert outcome is not None and outcome.status == DeliveryStatus.PENDING
    row = await endpoint_row(sessionmaker, endpoint["id"])
    assert row.failing_since == now
    async with sessionmaker() as session:
        delivery = await session.get(WebhookDelivery, item.delivery_id)
        assert delivery is not None
        assert delivery.locked_until is None and delivery.lease_token is None
    assert json.loads(item.message.body)["id"] == item.message.event_id


def _result(at: datetime, status_code: int | None) -> AttemptResult:
    return AttemptResult(
        attempted_at=at,
        duration_ms=5,
        status_code=status_code,
        error=None if status_code else "ConnectError: refused",
        response_body="",
        retry_after=None,
    )


Since = Callable[[datetime, list[datetime]], datetime | None]


@pytest.mark.parametrize(
    ("codes", "since"),
    [
        ((500, 200), lambda earlier, times: None),  # a success ends the run of failures
        ((200, 500, None), lambda earlier, times: times[1]),  # a new run starts after it
        ((500, None), lambda earlier, times: earlier),  # no success: the old run goes on
    ],
)
async def test_a_batch_of_results_tracks_the_endpoints_failures_in_order(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    worker_settings: Settings,
    receiver: Receiver,
    codes: tuple[int | None, ...],
    since: Since,
) -> None:
    endpoint = await create_endpoint(api, receiver.url())
    account = await account_id(api)
    for _ in codes:
        await record(sessionmaker, account)
    start = utcnow()
    earlier = start - timedelta(days=1)
    async with sessionmaker() as session, session.begin():
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint["id"])
            .values(failing_since=earlier)
        )
    async with sessionmaker() as session, session.begin():
        items = await claim_due(
            session, utcnow(), 10, lease_for(worker_settings), box=worker_settings.secret_box()
        )
    times = [start + timedelta(seconds=n) for n in range(len(codes))]

    async with sessionmaker() as session, session.begin():
        outcomes = await record_results(
            session,
            [(item, _result(at, code)) for item, at, code in zip(items, times, codes, strict=True)],
            worker_settings,
            utcnow(),
            random.Random(2),
        )

    expected = [
        DeliveryStatus.SUCCEEDED if code == 200 else DeliveryStatus.PENDING for code in codes
    ]
    assert [o.status for o in outcomes if o] == expected
    row = await endpoint_row(sessionmaker, endpoint["id"])
    assert row.failing_since == since(earlier, times)
    assert row.enabled


async def test_an_endpoint_at_its_cap_keeps_the_backlog_even_if_it_frees_up_mid_claim(
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One busy subscriber must not stall the worker: when the claim saw an endpoint at
    its limit, due work may wait behind it, even if its deliveries finished while the
    claim ran (the counts after the claim then look below the limit); the loop is woken
    to claim again rather than sleeping a poll interval."""
    woken: list[bool] = []
    dispatcher = Dispatcher(worker_settings, sessionmaker, http, wake=lambda: woken.append(True))
    limit = dispatcher.hold_limit("we_busy")
    seen: list[dict[str, int]] = []

    async def claim_while_deliveries_finish(*_args: Any, **kwargs: Any) -> list[Any]:
        seen.append(dict(kwargs["busy"]))
        dispatcher._held.clear()
        dispatcher._held_total = 0
        return []

    monkeypatch.setattr("app.worker.dispatcher.claim_due", claim_while_deliveries_finish)
    dispatcher._held["we_busy"] = limit
    dispatcher._held_total = limit
    await dispatcher.fill()
    assert seen == [{"we_busy": limit}]
    assert dispatcher.backlog, "due work may wait behind the endpoint that was at its limit"
    assert woken, "its room freed up during the claim: claim again at once"


async def test_a_claim_looks_past_one_endpoints_backlog_in_the_same_call(
    api: httpx.AsyncClient, sessionmaker: Sessions, worker_settings: Settings, receiver: Receiver
) -> None:
    """The first scan (4 times the limit) sees only the busy endpoint's rows; once that
    endpoint is at its bound the claim scans again without it and finds the other."""
    busy = await create_endpoint(api, receiver.url("/busy"), event_types=["interview.created"])
    account = await account_id(api)
    for _ in range(10):
        await record(sessionmaker, account, EventType.INTERVIEW_CREATED)
    other = await create_endpoint(api, receiver.url("/other"), event_types=["interview.updated"])
    await record(sessionmaker, account, EventType.INTERVIEW_UPDATED)

    async with sessionmaker() as session, session.begin():
        items = await claim_due(
            session,
            utcnow(),
            2,
            lease_for(worker_settings),
            box=worker_settings.secret_box(),
            per_endpoint=1,
        )

    assert sorted(i.endpoint_id for i in items) == sorted([busy["id"], other["id"]])


class CountingTransport(httpx.AsyncBaseTransport):
    """Answers every request 200 after `delay` (or once `gate` is set), noting the order
    of webhook ids and the most requests it ever had in progress at once."""

    def __init__(self, delay: float = 0.005, gate: asyncio.Event | None = None) -> None:
        self.delay = delay
        self.gate = gate
        self.ids: list[str] = []
        self.running = 0
        self.most = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.ids.append(request.headers["webhook-id"])
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            if self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(self.delay)
        finally:
            self.running -= 1
        return httpx.Response(200, stream=httpx.ByteStream(b"ok"))


class CountingClaims:
    """Wraps `claim_due` in the dispatcher, counting its calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        monkeypatch.setattr("app.worker.dispatcher.claim_due", self)

    async def __call__(self, *args: Any, **kwargs: Any) -> list[WorkItem]:
        self.calls += 1
        return await claim_due(*args, **kwargs)


async def run_until_idle(dispatcher: Dispatcher, woken: asyncio.Event, timeout: float) -> None:
    """The worker loop in miniature: claim when the dispatcher asks (or a poll interval
    passed), until nothing is held."""
    deadline = asyncio.get_running_loop().time() + timeout
    news = True
    while True:
        woken.clear()
        await dispatcher.fill(news)
        if not dispatcher.backlog and not dispatcher.held:
            return
        assert asyncio.get_running_loop().time() < deadline, "deliveries still held"
        try:
            await asyncio.wait_for(woken.wait(), 0.5)
            news = False
        except TimeoutError:
            news = True


async def test_one_endpoints_backlog_is_claimed_in_batches_within_its_concurrency(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    worker_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every finished attempt starts the next queued delivery: no claim per delivery,
    and never more than the endpoint's 4 requests at once."""
    endpoint = await create_endpoint(api, "http://127.0.0.1:9/hook")
    account = await account_id(api)
    async with sessionmaker() as session, session.begin():
        for _ in range(60):
            await record_event(
                session,
                account,
                EventType.INTERVIEW_CREATED,
                EVENT_EXAMPLES[EventType.INTERVIEW_CREATED],
                utcnow(),
            )
    claims = CountingClaims(monkeypatch)
    transport = CountingTransport()
    woken = asyncio.Event()
    async with httpx.AsyncClient(transport=transport) as client:
        dispatcher = Dispatcher(worker_settings, sessionmaker, client, wake=woken.set)
        await run_until_idle(dispatcher, woken, timeout=30)
        await dispatcher.drain(5)

    cap = worker_settings.worker_per_endpoint_concurrency
    assert len(transport.ids) == len(set(transport.ids)) == 60
    assert transport.most == cap, "the endpoint's concurrency, used and never exceeded"
    assert claims.calls <= 60 // (2 * cap), f"{claims.calls} claims for 60 deliveries"
    async with sessionmaker() as session:
        statuses = await session.scalars(
            select(WebhookDelivery.status).where(WebhookDelivery.endpoint_id == endpoint["id"])
        )
        assert set(statuses.all()) == {"succeeded"}


async def test_queued_deliveries_to_one_endpoint_go_out_in_the_order_they_fell_due(
    api: httpx.AsyncClient, sessionmaker: Sessions, worker_settings: Settings
) -> None:
    settings = worker_settings.model_copy(update={"worker_per_endpoint_concurrency": 1})
    await create_endpoint(api, "http://127.0.0.1:9/hook")
    account = await account_id(api)
    events = [await record(sessionmaker, account) for _ in range(12)]
    transport = CountingTransport()
    woken = asyncio.Event()
    async with httpx.AsyncClient(transport=transport) as client:
        dispatcher = Dispatcher(settings, sessionmaker, client, wake=woken.set)
        await run_until_idle(dispatcher, woken, timeout=30)
        await dispatcher.drain(5)

    assert transport.ids == [event.id for event in events]
    assert transport.most == 1


async def _lease_states(sessionmaker: Sessions) -> list[tuple[str, int, str | None]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(
                WebhookDelivery.status, WebhookDelivery.attempt_count, WebhookDelivery.lease_token
            ).order_by(WebhookDelivery.created_at)
        )
        return [tuple(row) for row in rows.all()]


async def test_a_queued_delivery_whose_lease_ran_short_is_handed_back_unsent(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    worker_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = worker_settings.model_copy(update={"worker_per_endpoint_concurrency": 1})
    await create_endpoint(api, "http://127.0.0.1:9/hook")
    account = await account_id(api)
    for _ in range(3):
        await record(sessionmaker, account)
    gate = asyncio.Event()
    transport = CountingTransport(gate=gate)
    async with httpx.AsyncClient(transport=transport) as client:
        dispatcher = Dispatcher(settings, sessionmaker, client)
        assert await dispatcher.fill() == 3
        await asyncio.sleep(0.05)
        assert (transport.running, dispatcher.queued) == (1, 2)
        # The first attempt takes so long that the queued ones could no longer finish
        # inside their lease: they must not start.
        late = utcnow() + dispatcher.lease - timedelta(seconds=dispatcher.timeout)
        monkeypatch.setattr("app.worker.dispatcher.utcnow", lambda: late)
        gate.set()
        for _ in range(100):
            if not dispatcher.held:
                break
            await asyncio.sleep(0.05)
        await dispatcher.drain(5)

    assert len(transport.ids) == 1
    assert await _lease_states(sessionmaker) == [
        ("succeeded", 1, None),
        ("pending", 0, None),
        ("pending", 0, None),
    ]


async def test_drain_hands_back_queued_deliveries_at_once(
    api: httpx.AsyncClient, sessionmaker: Sessions, worker_settings: Settings
) -> None:
    settings = worker_settings.model_copy(update={"worker_per_endpoint_concurrency": 1})
    await create_endpoint(api, "http://127.0.0.1:9/hook")
    account = await account_id(api)
    for _ in range(3):
        await record(sessionmaker, account)
    gate = asyncio.Event()
    transport = CountingTransport(gate=gate)
    async with httpx.AsyncClient(transport=transport) as client:
        dispatcher = Dispatcher(settings, sessionmaker, client)
        assert await dispatcher.fill() == 3
        await asyncio.sleep(0.05)
        asyncio.get_running_loop().call_later(0.2, gate.set)
        await dispatcher.drain(5)

    assert len(transport.ids) == 1, "the running one finishes; the queued ones never start"
    assert await _lease_states(sessionmaker) == [
        ("succeeded", 1, None),
        ("pending", 0, None),
        ("pending", 0, None),
    ]


def test_a_slow_endpoint_is_claimed_ahead_only_as_far_as_its_leases_allow(
    sessionmaker: Sessions, http: httpx.AsyncClient, worker_settings: Settings
) -> None:
    dispatcher = Dispatcher(worker_settings, sessionmaker, http)
    cap = worker_settings.worker_per_endpoint_concurrency
    window = (dispatcher.lease - timedelta(seconds=dispatcher.timeout + 1)).total_seconds()
    assert dispatcher.hold_limit("we_new") == cap * (1 + AHEAD), "a queue ahead of its slots"

    for _ in range(20):
        dispatcher._note_pace("we_fast", 0.005)
        dispatcher._note_pace("we_slow", window / 2)
    assert dispatcher.hold_limit("we_fast") == cap * (1 + AHEAD)
    # Its last queued delivery starts after about (queue / cap) attempts: half the window.
    assert dispatcher.hold_limit("we_slow") == cap + cap
    dispatcher._note_pace("we_slow", 50.0)
    assert dispatcher.hold_limit("we_slow") == cap, "nothing ahead: a claim per slot"
