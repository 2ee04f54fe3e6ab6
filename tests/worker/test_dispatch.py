"""The dispatcher's steps against a real local receiver: signing, retries, the attempt log,
410, Retry-After, rotation, redirects, timeouts, leases and the send-time SSRF check."""

from __future__ import annotations

import asyncio
import json
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
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
from app.services.leases import (
    Claim,
    WorkItem,
    claim_some,
    lease_for,
    record_results,
)
from app.settings import Settings
from app.webhooks.sender import AttemptResult, Message, attempt_timeout
from app.worker.dispatcher import (
    CLAIM_AHEAD,
    START_MARGIN,
    Dispatcher,
    EndpointClients,
    ResultWriter,
)
from tests.receiver import Receiver, Reply
from tests.worker.helpers import (
    account_id,
    attempts_of,
    claim_due,
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
    its cap, its next finished attempt has to wake the loop, even if its attempts
    finished while the claim ran (the counts after the claim then look below the cap)."""
    dispatcher = Dispatcher(worker_settings, sessionmaker, http)
    bound = dispatcher._bound("we_busy")
    seen: list[dict[str, int]] = []

    async def claim_while_attempts_finish(*_args: Any, **kwargs: Any) -> Claim:
        seen.append(dict(kwargs["busy"]))
        dispatcher._sending.clear()
        return Claim([], complete=False, left=frozenset())

    monkeypatch.setattr("app.worker.dispatcher.claim_some", claim_while_attempts_finish)
    dispatcher._sending["we_busy"] = bound
    await dispatcher.fill()
    assert seen == [{"we_busy": bound}]
    assert dispatcher.backlog, "due work may wait behind the endpoint that was at its cap"


async def test_per_endpoint_bounds_may_differ_by_endpoint(
    api: httpx.AsyncClient, sessionmaker: Sessions, worker_settings: Settings, receiver: Receiver
) -> None:
    deep = await create_endpoint(api, receiver.url("/deep"))
    shallow = await create_endpoint(api, receiver.url("/shallow"))
    account = await account_id(api)
    for _ in range(5):
        await record(sessionmaker, account)
    bounds = {deep["id"]: 4, shallow["id"]: 1}

    async with sessionmaker() as session, session.begin():
        claim = await claim_some(
            session,
            utcnow(),
            10,
            lease_for(worker_settings),
            box=worker_settings.secret_box(),
            per_endpoint=bounds.__getitem__,
            busy={deep["id"]: 1},
        )

    claimed = sorted(item.endpoint_id for item in claim.items)
    assert claimed == sorted([deep["id"]] * 3 + [shallow["id"]])
    assert claim.complete, "ten due rows fit in the scan"
    assert claim.left == {deep["id"], shallow["id"]}, "both have due deliveries left"


async def _claimed_for_queue(
    api: httpx.AsyncClient, sessionmaker: Sessions, settings: Settings, receiver: Receiver
) -> list[WorkItem]:
    await create_endpoint(api, receiver.url())
    account = await account_id(api)
    for _ in range(3):
        await record(sessionmaker, account)
    async with sessionmaker() as session, session.begin():
        items = await claim_due(
            session, utcnow(), 10, lease_for(settings), box=settings.secret_box()
        )
    assert len(items) == 3
    return items


async def _assert_handed_back_unsent(
    sessionmaker: Sessions, receiver: Receiver, items: list[WorkItem]
) -> None:
    assert receiver.received() == []
    async with sessionmaker() as session:
        rows = (
            await session.scalars(
                select(WebhookDelivery).where(
                    WebhookDelivery.id.in_([item.delivery_id for item in items])
                )
            )
        ).all()
    assert len(rows) == 3
    for row in rows:
        assert (row.status, row.attempt_count) == ("pending", 0)
        assert row.lease_token is None and row.locked_until is None, "claimable again at once"


@pytest.mark.parametrize("when", ["claiming", "starting"])
async def test_queued_deliveries_whose_lease_ran_short_are_handed_back_unsent(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    when: str,
) -> None:
    """A delivery claimed ahead that waited in its endpoint's queue until less than a full
    attempt is left on its lease is released (found both when the loop claims again and
    when a slot frees up), never sent late nor kept until the lease ends."""
    items = await _claimed_for_queue(api, sessionmaker, worker_settings, receiver)
    dispatcher = Dispatcher(worker_settings, sessionmaker, http)
    short = utcnow() + timedelta(seconds=attempt_timeout(worker_settings.webhook_timeout))
    dispatcher._queued[items[0].endpoint_id] = deque(
        replace(item, locked_until=short) for item in items
    )
    dispatcher._queued_count = len(items)

    async def nothing_due(*_args: Any, **_kwargs: Any) -> Claim:
        return Claim([], complete=True, left=frozenset())

    monkeypatch.setattr("app.worker.dispatcher.claim_some", nothing_due)
    if when == "claiming":
        await dispatcher.fill()
    else:
        dispatcher._pump()
    assert dispatcher._queued_count == 0 and not dispatcher._queued
    await asyncio.gather(*dispatcher._chores)
    await dispatcher.drain(1.0)

    await _assert_handed_back_unsent(sessionmaker, receiver, items)


async def test_drain_hands_back_queued_deliveries_at_once(
    api: httpx.AsyncClient,
    sessionmaker: Sessions,
    http: httpx.AsyncClient,
    worker_settings: Settings,
    receiver: Receiver,
) -> None:
    items = await _claimed_for_queue(api, sessionmaker, worker_settings, receiver)
    dispatcher = Dispatcher(worker_settings, sessionmaker, http)
    dispatcher._queued[items[0].endpoint_id] = deque(items)
    dispatcher._queued_count = len(items)

    await asyncio.wait_for(dispatcher.drain(10.0), timeout=2.0)

    await _assert_handed_back_unsent(sessionmaker, receiver, items)


async def test_claim_ahead_stays_within_what_can_start_in_the_lease(
    sessionmaker: Sessions, http: httpx.AsyncClient, worker_settings: Settings
) -> None:
    """Beyond its cap, an endpoint gets only as many queued as start within half the
    slack of a lease at its recent pace: an unknown pace counts as the whole timeout, and
    quick attempts allow up to `CLAIM_AHEAD` times the cap."""
    settings = worker_settings.model_copy(
        update={"webhook_timeout": 10.0, "worker_per_endpoint_concurrency": 4}
    )
    dispatcher = Dispatcher(settings, sessionmaker, http)
    slack = (lease_for(settings) - START_MARGIN).total_seconds() - 10.0

    assert dispatcher._bound("we_new") == 4 + int(4 * slack / 20.0)
    dispatcher._note_pace("we_fast", 0.004)
    assert dispatcher._bound("we_fast") == 4 + CLAIM_AHEAD * 4
    dispatcher._note_pace("we_slow", 5.0)
    assert dispatcher._bound("we_slow") == 4 + int(4 * slack / 10.0)
    dispatcher._note_pace("we_fast", 9.0)
    assert dispatcher._bound("we_fast") == 4 + int(4 * slack / 18.0), (
        "a slow attempt counts at once"
    )


async def test_results_wait_briefly_for_running_attempts_and_never_when_none_run(
    sessionmaker: Sessions, worker_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []

    async def counted(_session: Any, results: Sequence[Any], *_args: Any) -> list[Any]:
        batches.append(len(results))
        return [None] * len(results)

    monkeypatch.setattr("app.worker.dispatcher.record_results", counted)
    monkeypatch.setattr("app.worker.dispatcher.LINGER", 0.5)
    running = 2
    writer = ResultWriter(worker_settings, sessionmaker, random.Random(1), sending=lambda: running)
    item = WorkItem("dlv_1", "token", utcnow(), "we_1", Message("http://x", "evt_1", b"", ()), 1)
    result = AttemptResult(utcnow(), 1, 200, None, "ok", None)

    async def later(delay: float) -> None:
        await asyncio.sleep(delay)
        await writer.record(item, result)

    try:
        # Results of attempts that end a few milliseconds apart share one write.
        await asyncio.gather(later(0), later(0.002), later(0.004))
        assert batches == [3]
        # With nothing left running, a result is written at once, not after LINGER.
        running = 0
        started = asyncio.get_running_loop().time()
        await writer.record(item, result)
        assert asyncio.get_running_loop().time() - started < 0.25
        assert batches == [3, 1]
    finally:
        await writer.close()


async def test_each_endpoint_has_its_own_client_and_idle_ones_beyond_the_kept_are_closed() -> None:
    made: list[httpx.AsyncClient] = []

    def factory() -> httpx.AsyncClient:
        made.append(httpx.AsyncClient(trust_env=False))
        return made[-1]

    clients = EndpointClients(factory, kept=2)
    try:
        first = clients.get("we_1")
        assert clients.get("we_1") is first, "kept between attempts"
        assert clients.get("we_2") is not first
        clients.get("we_3")
        # we_1 is the least recently used, but an attempt of it still runs: we_2 goes.
        surplus = clients.surplus(lambda endpoint: endpoint == "we_1")
        assert surplus == [made[1]]
        assert clients.get("we_1") is first
        assert len(made) == 3
    finally:
        await clients.aclose()
        for client in made:
            await client.aclose()
