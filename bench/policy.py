"""Policy evaluation speed vs a whole `POST …/contact-attempts` request, in one run.

Setup: one interview with 200 earlier attempts and a 300-word email to evaluate.
1. Pure: `app.policy.evaluate` on that input, in process (proofreading included).
2. Whole request: the same email POSTed to a running `followup api` on SQLite
   (a temporary database), each created attempt deleted again (untimed) so every
   request sees exactly the same 200 earlier attempts.
Target: the pure evaluation takes at most 10 % of the whole request's time.

Run: `.venv/bin/python -m bench.policy [--requests N]` (`make bench` reports the share as
`policy.share_of_post`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from app.enums import Channel, ContactRole, Decision, Direction, Platform
from app.policy import (
    DEFAULT_SETTINGS,
    AttemptFacts,
    ContactFacts,
    InterviewFacts,
    PolicyContext,
    evaluate,
)
from bench.common import NO_RATE_LIMIT, ROOT, SECRET_KEY, free_port, wait_http

ADMIN = "bench-admin-token"

PARAGRAPH = (
    "Thank you again for taking the time to meet with me on Tuesday to discuss the Data "
    "Analyst position at Northwind Traders. I really enjoyed learning more about the team, "
    "the projects you are planning for next year and the way your analysts work closely "
    "with product managers. Our conversation confirmed my interest in the role and my "
    "belief that my experience with reporting pipelines, forecasting models and clear "
    "written summaries would help the team deliver useful insights quickly."
)


def email_body() -> str:
    words: list[str] = []
    while len(words) < 294:
        words.extend(PARAGRAPH.split())
    middle = " ".join(words[:294])
    return f"Dear Morgan,\n\n{middle}\n\nKind regards,\nJordan Smith"


def earlier_attempts(ends_at: datetime, referee_id: str) -> list[dict[str, Any]]:
    """200 attempts the policy never blocks: inbound ones and outbound ones to a referee."""
    attempts: list[dict[str, Any]] = []
    for i in range(200):
        at = ends_at + timedelta(minutes=30 * (i + 1))
        if i % 4 == 0:
            attempts.append(
                {
                    "channel": "email",
                    "contact_id": referee_id,
                    "occurred_at": at.isoformat(),
                    "body": "Hi Riley,\n\nA quick note.\n\nThanks,\nJordan",
                }
            )
        else:
            channel = ("email", "phone_call", "text_message")[i % 3]
            attempts.append(
                {"channel": channel, "direction": "inbound", "occurred_at": at.isoformat()}
            )
    return attempts


def pure_timing(
    ends_at: datetime,
    attempts: list[dict[str, Any]],
    referee_id: str,
    occurred_at: datetime,
    rounds: int,
) -> float:
    contacts = {
        "hm": ContactFacts(id="hm", name="Morgan Lee", role=ContactRole.HIRING_MANAGER),
        referee_id: ContactFacts(id=referee_id, name="Riley Park", role=ContactRole.REFEREE),
    }
    context = PolicyContext(
        interview=InterviewFacts(
            ends_at=ends_at,
            timezone="Europe/London",
            decision=Decision.PENDING,
            decided_at=None,
            decision_expected_at=None,
            company="Northwind Traders",
            role_title="Data Analyst",
            candidate_name="Jordan Smith",
        ),
        contacts=contacts,
        attempts=[
            AttemptFacts(
                channel=Channel(a["channel"]),
                direction=Direction(a.get("direction", "outbound")),
                occurred_at=datetime.fromisoformat(a["occurred_at"]),
                contact_id=a.get("contact_id"),
                platform=Platform(a["platform"]) if a.get("platform") else None,
            )
            for a in attempts
        ],
        settings=DEFAULT_SETTINGS,
    )
    attempt = AttemptFacts(
        channel=Channel.EMAIL,
        direction=Direction.OUTBOUND,
        occurred_at=occurred_at,
        contact_id="hm",
        subject="Thank you for Tuesday",
        body=email_body(),
    )
    evaluate(attempt, context)  # warm caches (spell-checker dictionary)
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        evaluate(attempt, context)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def measure(requests: int, rounds: int) -> tuple[float, float]:
    """(median pure evaluation, median whole request), in seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            **os.environ,
            "FOLLOWUP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
            "FOLLOWUP_SECRET_KEY": SECRET_KEY,
            "FOLLOWUP_RATE_LIMIT": NO_RATE_LIMIT,
            "FOLLOWUP_ADMIN_TOKEN": ADMIN,
            "FOLLOWUP_PORT": str(port),
            "FOLLOWUP_LOG_LEVEL": "WARNING",
        }
        followup = str(Path(sys.executable).parent / "followup")
        subprocess.run([followup, "migrate"], env=env, check=True, cwd=ROOT)
        server = subprocess.Popen([followup, "api"], env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/healthz")
            with httpx.Client(base_url=base, timeout=30) as http:
                key = http.post(
                    "/admin/accounts",
                    json={"name": "Bench"},
                    headers={"Authorization": f"Bearer {ADMIN}"},
                ).json()["api_key"]
                http.headers["Authorization"] = f"Bearer {key}"
                candidate = http.post(
                    "/v1/candidates", json={"name": "Jordan Smith", "timezone": "Europe/London"}
                ).json()
                ends_at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)
                interview = http.post(
                    "/v1/interviews",
                    json={
                        "candidate_id": candidate["id"],
                        "company": "Northwind Traders",
                        "role_title": "Data Analyst",
                        "starts_at": (ends_at - timedelta(hours=1)).isoformat(),
                    },
                ).json()
                url = f"/v1/interviews/{interview['id']}/contact-attempts"
                manager = http.post(
                    f"/v1/interviews/{interview['id']}/contacts",
                    json={"name": "Morgan Lee", "role": "hiring_manager"},
                ).json()
                referee = http.post(
                    f"/v1/interviews/{interview['id']}/contacts",
                    json={"name": "Riley Park", "role": "referee"},
                ).json()
                attempts = earlier_attempts(ends_at, referee["id"])
                for body in attempts:
                    response = http.post(url, json=body)
                    assert response.status_code == 201, response.text
                occurred_at = ends_at + timedelta(days=10)
                payload = {
                    "channel": "email",
                    "contact_id": manager["id"],
                    "occurred_at": occurred_at.isoformat(),
                    "subject": "Thank you for Tuesday",
                    "body": email_body(),
                }
                samples = []
                for _ in range(requests + 10):
                    started = time.perf_counter()
                    response = http.post(url, json=payload)
                    elapsed = time.perf_counter() - started
                    assert response.status_code == 201, response.text
                    http.delete(f"{url}/{response.json()['id']}")
                    samples.append(elapsed)
                request_time = statistics.median(samples[10:])
        finally:
            server.terminate()
            server.wait(timeout=20)

    local_attempts = [{**a, "contact_id": "ref" if a.get("contact_id") else None} for a in attempts]
    return pure_timing(ends_at, local_attempts, "ref", occurred_at, rounds), request_time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=500)
    args = parser.parse_args()
    pure, request_time = measure(args.requests, args.rounds)
    ratio = pure / request_time
    words = len(email_body().split())
    print(f"policy bench: 200 earlier attempts, {words}-word email")
    print(
        f"  pure evaluate (median of {args.rounds}): {pure * 1000:8.3f} ms "
        f"({1 / pure:,.0f} evaluations/s)"
    )
    print(f"  whole POST request (median of {args.requests}): {request_time * 1000:8.3f} ms")
    print(f"  evaluation share of the request: {ratio:.1%} (target <= 10%)")
    return 0 if ratio <= 0.10 else 1


if __name__ == "__main__":
    sys.exit(main())
