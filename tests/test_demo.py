"""`followup demo`: seeded through the API, and its printed commands work as printed."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.demo import DemoError, seed_demo
from app.settings import Settings
from tests.servers import Server, followup_env, free_port, run_followup


def curl_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("curl ")]


def run_curl(line: str) -> Any:
    """Run a printed command exactly as a person pasting it into a shell would."""
    done = subprocess.run(line, shell=True, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the printed commands need curl")
def test_demo_prints_a_key_and_three_commands_that_work_against_serve(tmp_path: Path) -> None:
    port = free_port()
    env = followup_env(f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}", FOLLOWUP_PORT=str(port))

    migrated = run_followup("migrate", env=env, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    demo = run_followup("demo", env=env, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr

    key = next(
        line.split(": ", 1)[1]
        for line in demo.stdout.splitlines()
        if line.startswith("API key (shown once): ")
    )
    assert key.startswith("fu_")
    assert "Contact attempts judged: allowed, allowed, flagged, rejected" in demo.stdout
    assert "Follow-up windows open now: 1." in demo.stdout
    lines = curl_lines(demo.stdout)
    assert len(lines) == 3
    assert all(key in shlex.split(line)[3] for line in lines)

    command = [sys.executable, "-m", "app.cli", "serve"]
    with Server(command, env, tmp_path, port) as server:
        attempts, evaluation, windows = (run_curl(line) for line in lines)
        code = server.terminate()
    assert code == 0, server.output()

    assert sorted(attempt["verdict"] for attempt in attempts["data"]) == [
        "allowed",
        "allowed",
        "flagged",
    ]
    flagged = next(a for a in attempts["data"] if a["verdict"] == "flagged")
    assert "one-follow-up-email" in {finding["rule"] for finding in flagged["findings"]}
    assert evaluation["verdict"] == "rejected"
    assert {"rule": "no-social-connection", "severity": "block"}.items() <= next(
        finding for finding in evaluation["findings"] if finding["rule"] == "no-social-connection"
    ).items()
    assert [(w["kind"], w["state"]) for w in windows["data"]] == [("check_in", "open")]


async def test_seeding_covers_every_verdict_and_records_the_rejection(
    settings: Settings, app: object
) -> None:
    """In process, on the test database (PostgreSQL too when configured)."""
    seeded = await seed_demo(settings)
    assert seeded.verdicts == ("allowed", "allowed", "flagged", "rejected")
    assert seeded.open_windows == 1
    assert seeded.counts == {
        "candidates": 2,
        "interviews": 2,
        "contacts": 4,
        "contact attempts": 3,
    }

    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    headers = {"Authorization": f"Bearer {seeded.api_key}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", headers=headers
    ) as api:
        account = (await api.get("/v1/account")).json()
        rejected = (await api.get("/v1/events", params={"type": "contact_attempt.rejected"})).json()
        interviews = (await api.get("/v1/interviews")).json()
    assert account["id"] == seeded.account_id
    assert [event["data"]["attempt"]["channel"] for event in rejected["data"]] == ["phone_call"]
    assert {interview["company"] for interview in interviews["data"]} == {
        "Ledgerly",
        "Brightwave Health",
    }


async def test_demo_on_an_unmigrated_database_says_to_migrate(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}",
    )
    with pytest.raises(DemoError, match="run `followup migrate` first"):
        await seed_demo(settings)
