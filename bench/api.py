"""The API under wrk: five routes of `followup api` against two baselines, same settings.

Every target is a real uvicorn process (one each, as `followup api` runs): the API, and
`bench.baseline` with `GET /json` (a fixed document) and `GET /select` (one SQLAlchemy
`SELECT`). wrk drives one target at a time with 16 connections; the targets are taken in
turn (A/B/A/B...) for `rounds` rounds and each figure is the median of its rounds. The
server's CPU time over a run (from /proc) divided by the requests it answered is its
CPU per request.

Routes:
- `evaluate`: `POST /v1/interviews/{id}/contact-attempts/evaluate`, a 150-word email to
  the hiring manager, over every interview.
- `record`: `POST /v1/interviews/{id}/contact-attempts`, the same email, each request to
  the next interview that can take it (see `Seeded.record_targets`), so the policy
  stores it instead of blocking it. The targets are taken in passes, and each pass
  dates its emails (`occurred_at`) a minute before the previous pass's: an email is
  judged against the attempts before it, so each one is a first contact in its week and
  the weekly limit never blocks one, however many passes a fast run makes.
- `record_idempotent`: the same with a unique `Idempotency-Key` per request.
- `list_interviews`: `GET /v1/interviews?limit=50`.
- `list_windows`: `GET /v1/followup-windows?state=open`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    NO_RATE_LIMIT,
    ROOT,
    SECRET_KEY,
    cpu_seconds,
    email_body,
    followup_command,
    free_port,
    process,
    wait_http,
)
from bench.seed import Seeded

SCRIPT = ROOT / "bench" / "wrk" / "followup.lua"
CONNECTIONS = 16
ROUTES = ("evaluate", "record", "record_idempotent", "list_interviews", "list_windows")
EMAIL_WORDS = 150
CONTACT = "@@CONTACT@@"
OCCURRED = "@@OCCURRED@@"
RECORDED_FROM = int(time.time()) - 60
"""`occurred_at` of the first pass over the record targets (Unix time); pass n is
n minutes earlier (see the module's docstring)."""


def occurred_at(position: int, targets: int) -> str:
    """The `occurred_at` of the email at `position` of the record cursor; the Lua script
    computes the same."""
    moment = RECORDED_FROM - 60 * (position // targets)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def lua_literal(value: Any) -> str:
    """Python value → Lua table constructor (strings, numbers, bools, lists, dicts)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # JSON string escapes (\" \\ \n \t) are Lua escapes too; non-ASCII stays UTF-8.
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "{" + ",".join(lua_literal(v) for v in value) + "}"
    if isinstance(value, dict):
        pairs = (f"[{lua_literal(k)}]={lua_literal(v)}" for k, v in value.items())
        return "{" + ",".join(pairs) + "}"
    raise TypeError(f"no Lua literal for {type(value).__name__}")


def write_params(directory: Path, name: str, params: dict[str, Any]) -> Path:
    """The Lua parameter file bench/wrk/followup.lua reads."""
    path = directory / f"{name}.lua"
    path.write_text("return " + lua_literal(params) + "\n")
    return path


@dataclass(frozen=True)
class Run:
    """One wrk run against one target."""

    requests: int
    seconds: float
    status_errors: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    cpu_ms: float
    """Server CPU time per answered request."""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@dataclass
class Target:
    name: str
    url: str
    """Base URL of the server."""
    pid: int
    params: dict[str, Any]
    """The Lua parameters (see bench/wrk/followup.lua)."""
    expect: int = 200
    consumes: bool = False
    """Each request records an attempt: it takes the next interview from the cursor."""
    runs: list[Run] = field(default_factory=list)
    params_file: Path | None = None

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.runs)


class RecordCursor:
    """Hands out positions over `Seeded.record_targets`, pass after pass (position
    `i` is target `i % size` in pass `i // size`), so two requests never share a
    position."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.position = 0

    def take(self, count: int) -> int:
        start = self.position
        self.position += count
        return start


def ensure_wrk() -> str:
    """The wrk binary; installs the Debian package when running as root, else explains."""
    found = shutil.which("wrk")
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt and os.geteuid() == 0:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        quiet = {"stdout": subprocess.DEVNULL}
        if subprocess.run([apt, "install", "-y", "wrk"], check=False, **quiet).returncode:
            subprocess.run([apt, "update"], check=False, **quiet)
            subprocess.run([apt, "install", "-y", "wrk"], check=True, **quiet)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit(
        "wrk is needed: install it with `sudo apt-get install wrk` (Debian/Ubuntu), "
        "`brew install wrk` (macOS), or build it from its sources, then run `make bench` again."
    )


def run_wrk(
    target: Target, duration: float, offset: int = 0, connections: int = CONNECTIONS
) -> Run:
    assert target.params_file is not None
    command = [
        ensure_wrk(),
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
        target.url,
        "--",
        str(target.params_file),
        str(offset),
        "1",
    ]
    cpu_before = cpu_seconds(target.pid)
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(target.pid) - cpu_before
    match = re.search(r"^WRK_JSON (.*)$", out, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    data = json.loads(match.group(1))
    requests = max(1, int(data["requests"]))
    return Run(
        requests=requests,
        seconds=data["duration_us"] / 1e6,
        status_errors=int(data["status_errors"]),
        socket_errors=int(data["socket_errors"]) + int(data["timeouts"]),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        cpu_ms=cpu * 1000 / requests,
    )


def api_params(route: str, data: Seeded) -> tuple[dict[str, Any], int, bool]:
    """(Lua parameters, expected status, consumes record targets) for one API route."""
    headers = {"Authorization": f"Bearer {data.api_key}", "Content-Type": "application/json"}
    if route in ("list_interviews", "list_windows"):
        path = "/v1/interviews?limit=50" if route == "list_interviews" else None
        path = path or "/v1/followup-windows?state=open"
        return {"method": "GET", "path": path, "headers": headers}, 200, False
    email = {
        "channel": "email",
        "contact_id": CONTACT,
        "subject": "Thank you for your time",
        "body": email_body(EMAIL_WORDS),
    }
    params: dict[str, Any] = {
        "method": "POST",
        "headers": headers,
        "path_prefix": "/v1/interviews/",
    }
    if route == "evaluate":
        params["body_prefix"], params["body_suffix"] = json.dumps(email).split(CONTACT)
        params["ids"] = [list(pair) for pair in data.evaluate_targets]
        params["path_suffix"] = "/contact-attempts/evaluate"
        return params, 200, False
    body = json.dumps({**email, "occurred_at": OCCURRED})
    params["body_prefix"], rest = body.split(CONTACT)
    params["body_middle"], params["body_suffix"] = rest.split(OCCURRED)
    params["recorded_from"] = RECORDED_FROM
    params["ids"] = [list(pair) for pair in data.record_targets]
    params["path_suffix"] = "/contact-attempts"
    if route == "record_idempotent":
        params["idempotency_prefix"] = f"bench-{uuid.uuid4().hex[:12]}"
    return params, 201, True


def smoke(target: Target, offset: int) -> None:
    """One request by hand, as the Lua script would build it: the status must be right."""
    params = target.params
    path, body = params.get("path"), params.get("body")
    if "ids" in params:
        interview, contact = params["ids"][offset % len(params["ids"])]
        path = params["path_prefix"] + interview + params["path_suffix"]
        body = params["body_prefix"] + contact
        if "recorded_from" in params:
            body += params["body_middle"] + occurred_at(offset, len(params["ids"]))
        body += params["body_suffix"]
    headers = dict(params["headers"])
    if "idempotency_prefix" in params:
        headers["Idempotency-Key"] = f"{params['idempotency_prefix']}-smoke"
    response = httpx.request(
        params["method"], target.url + path, headers=headers, content=body, timeout=30
    )
    if response.status_code != target.expect:
        raise RuntimeError(
            f"{target.name}: {params['method']} {path} answered {response.status_code}, "
            f"expected {target.expect}: {response.text[:500]}"
        )
    if target.name == "evaluate" and any(
        finding["rule"] == "proofread" for finding in response.json()["findings"]
    ):
        raise RuntimeError(f"the bench email does not proofread clean: {response.text[:500]}")


@contextmanager
def servers(
    database_url: str, data: Seeded, routes: Sequence[str], baselines: Sequence[str], logs: Path
) -> Iterator[list[Target]]:
    """`followup api` and `bench.baseline` on `database_url`, with a target per route."""
    api_port, base_port = free_port(), free_port()
    env = {
        "FOLLOWUP_DATABASE_URL": database_url,
        "FOLLOWUP_SECRET_KEY": SECRET_KEY,
        "FOLLOWUP_RATE_LIMIT": NO_RATE_LIMIT,
        "FOLLOWUP_PORT": str(api_port),
        "FOLLOWUP_HOST": "127.0.0.1",
        "FOLLOWUP_LOG_LEVEL": "WARNING",
    }
    baseline = [
        sys.executable,
        "-m",
        "bench.baseline",
        "--port",
        str(base_port),
        "--database-url",
        database_url,
        "--candidate-id",
        data.candidate_id,
    ]
    with ExitStack() as stack:
        api = stack.enter_context(
            process(followup_command("api", "--workers", "1"), env, logs / "api.log")
        )
        wait_http(f"http://127.0.0.1:{api_port}/healthz")
        if baselines:
            base = stack.enter_context(process(baseline, None, logs / "baseline.log"))
            wait_http(f"http://127.0.0.1:{base_port}/healthz")
        targets = []
        for route in routes:
            params, expect, consumes = api_params(route, data)
            targets.append(
                Target(route, f"http://127.0.0.1:{api_port}", api.pid, params, expect, consumes)
            )
        for name in baselines:
            path = "/json" if name == "base_json" else "/select"
            params = {"method": "GET", "path": path, "headers": {}}
            targets.append(Target(name, f"http://127.0.0.1:{base_port}", base.pid, params))
        yield targets


def measure(
    targets: list[Target],
    cursor: RecordCursor,
    *,
    rounds: int,
    duration: float,
    warmup: float,
    label: str,
) -> None:
    """Smoke-test, warm up, then `rounds` rounds over every target in turn."""
    with tempfile.TemporaryDirectory(prefix="followup-wrk-") as tmp:
        for target in targets:
            target.params_file = write_params(Path(tmp), target.name, target.params)
            smoke(target, cursor.take(1) if target.consumes else 0)
            if warmup > 0:
                run = run_wrk(target, warmup, cursor.position if target.consumes else 0)
                if target.consumes:
                    cursor.take(run.requests + CONNECTIONS)
        for number in range(1, rounds + 1):
            for target in targets:
                offset = cursor.position if target.consumes else 0
                run = run_wrk(target, duration, offset)
                if target.consumes:
                    cursor.take(run.requests + CONNECTIONS)
                target.runs.append(run)
                print(
                    f"  {label} round {number}/{rounds} {target.name:18} {run.rps:8.1f} req/s  "
                    f"p50 {run.p50_ms:7.2f} ms  p99 {run.p99_ms:7.2f} ms  "
                    f"cpu {run.cpu_ms:6.2f} ms/req"
                    + (f"  non-2xx {run.status_errors}" if run.status_errors else ""),
                    file=sys.stderr,
                    flush=True,
                )


def summarise(targets: list[Target], prefix: str) -> dict[str, float]:
    """Flat results: `<prefix>.<route>.{rps,p50_ms,p99_ms,cpu_ms,non2xx}` and the ratios."""
    by_name = {t.name: t for t in targets}
    out: dict[str, float] = {}
    for target in targets:
        if target.name.startswith("base_"):
            kind = target.name.removeprefix("base_")
            key = f"{prefix.replace('api', 'baseline')}.{kind}"
        else:
            key = f"{prefix}.{target.name}"
        out[f"{key}.rps"] = round(target.median("rps"), 1)
        out[f"{key}.p50_ms"] = round(target.median("p50_ms"), 2)
        out[f"{key}.p99_ms"] = round(target.median("p99_ms"), 2)
        out[f"{key}.cpu_ms"] = round(target.median("cpu_ms"), 3)
        total = sum(run.requests for run in target.runs)
        failed = sum(run.status_errors + run.socket_errors for run in target.runs)
        out[f"{key}.non2xx"] = round(failed / total, 4)
        if not target.name.startswith("base_"):
            for kind in ("select", "json"):
                base = by_name.get(f"base_{kind}")
                if base is not None:
                    # Paired by round (the baseline ran in the same round), then the
                    # median: the machine's load drifts less within a round than across.
                    ratios = [
                        run.rps / base_run.rps
                        for run, base_run in zip(target.runs, base.runs, strict=True)
                    ]
                    out[f"{key}.ratio_{kind}"] = round(statistics.median(ratios), 3)
    return out
