"""`followup serve`: the API and a worker in one process, the worker on its own thread
and event loop (so API load on the main loop cannot starve deliveries)."""

from __future__ import annotations

import threading

import httpx

from app.main import create_app
from app.settings import Settings
from tests.conftest import ADMIN_TOKEN
from tests.receiver import Receiver


async def _subscribed_account(http: httpx.AsyncClient, receiver: Receiver) -> None:
    """Authenticate `http` as a new account with one webhook endpoint on `receiver`."""
    created = await http.post(
        "/admin/accounts",
        json={"name": "Serve"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    http.headers["Authorization"] = f"Bearer {created.json()['api_key']}"
    hook = await http.post("/v1/webhook-endpoints", json={"url": receiver.url()})
    assert hook.status_code == 201, hook.text


async def test_serve_delivers_from_a_worker_thread_of_its_own(
    worker_settings: Settings, receiver: Receiver
) -> None:
    app = create_app(worker_settings, with_worker=True)
    async with app.router.lifespan_context(app):
        threads = {thread.name for thread in threading.enumerate()}
        assert "followup-worker" in threads
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            await _subscribed_account(http, receiver)
            candidate = await http.post("/v1/candidates", json={"name": "Ada"})
            interview = await http.post(
                "/v1/interviews",
                json={
                    "candidate_id": candidate.json()["id"],
                    "company": "Ledgerly",
                    "role_title": "Engineer",
                    "starts_at": "2099-01-05T10:00:00Z",
                },
            )
            assert interview.status_code == 201, interview.text
            await receiver.wait_for(1, timeout=10)
    [delivered] = receiver.received()
    assert delivered.headers["webhook-id"].startswith("evt_")
    assert "followup-worker" not in {thread.name for thread in threading.enumerate()}
    await app.state.engine.dispose()


async def test_serve_wakes_its_worker_when_a_request_commits_events(
    worker_settings: Settings, receiver: Receiver
) -> None:
    """No NOTIFY on SQLite, and a minute between polls here: the request that commits
    an event wakes the worker of its own process, with or without an Idempotency-Key."""
    settings = worker_settings.model_copy(update={"worker_poll_interval": 60.0})
    app = create_app(settings, with_worker=True)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            await _subscribed_account(http, receiver)
            candidate = (await http.post("/v1/candidates", json={"name": "Ada"})).json()
            body = {
                "candidate_id": candidate["id"],
                "company": "Ledgerly",
                "role_title": "Engineer",
                "starts_at": "2099-01-05T10:00:00Z",
            }
            for count, headers in ((1, {}), (2, {"Idempotency-Key": "woken"})):
                interview = await http.post("/v1/interviews", json=body, headers=headers)
                assert interview.status_code == 201, interview.text
                await receiver.wait_for(count, timeout=5)
    assert len(receiver.received()) == 2
    await app.state.engine.dispose()
