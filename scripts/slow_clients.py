"""Slow-client check: does `followup api` keep answering while thousands of clients
hold connections open without finishing their requests?

Starts `followup api` on 127.0.0.1 (a fresh SQLite database in a temporary directory),
opens N connections that never finish a request (a third send nothing, a third half
of the request headers, a third the headers and half of a body), holds them T seconds
and meanwhile sends fresh requests (new connection each) to `/healthz` and to the
authenticated `/v1/account`. Then it closes them and checks `/healthz` again.

Checks: every fresh request gets an HTTP answer within 2 s (200, or a 503 problem);
the server's log grows by less than 1 MB; `/healthz` is 200 within 2 s after the slow
connections close. Prints a JSON summary and exits 1 if a check fails. The test suite
runs it small with a long `--answer-timeout`, so that a busy machine cannot fail it:
there it checks that every request is answered, not how fast.

    .venv/bin/python scripts/slow_clients.py                    # 3,000 x 60 s
    .venv/bin/python scripts/slow_clients.py --connections 300 --hold 3

`--server-nofile N` starts the server with an open-file limit of N (soft and hard)
to watch descriptor exhaustion: fresh requests then wait until descriptors free up
and `/healthz` may take longer than 2 s to come back while the server works through
the backlog of dead connections (both reported, not required; it must be back within
10 s), while the log must still stay small.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from local_server import Server

ANSWER_TIMEOUT = 2.0
"""Seconds within which every request must be answered (`--answer-timeout`)."""
LOG_LIMIT = 1024 * 1024
RECOVERY_WATCH = 10.0
"""How long to watch for `/healthz` after the slow connections close (at least)."""


def raise_own_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


@dataclass
class Probes:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def record(self, outcome: str, latency: float | None) -> None:
        self.statuses[outcome] = self.statuses.get(outcome, 0) + 1
        if latency is not None:
            self.latencies.append(latency)


PARTIALS = (
    b"",
    b"GET /v1/account HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow",
    b"POST /v1/candidates HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: 64\r\n\r\n" + b'{"name": "sl',
)


async def open_slow(port: int, index: int) -> asyncio.StreamWriter | None:
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), timeout=10
        )
    except (OSError, TimeoutError):
        return None
    partial = PARTIALS[index % len(PARTIALS)]
    if partial:
        writer.write(partial)
    return writer


async def probe_once(
    http: httpx.AsyncClient, api_key: str, probes: Probes, answer_timeout: float
) -> None:
    """Requests on fresh connections (the client keeps none alive): the case a crowd of
    slow clients hurts most."""
    auth = {"Authorization": f"Bearer {api_key}"}
    for path, headers in (("/healthz", {}), ("/v1/account", auth)):
        started = time.monotonic()
        try:
            response = await http.get(path, headers=headers)
        except httpx.HTTPError as exc:
            probes.record(type(exc).__name__, None)
            elapsed = time.monotonic() - started
            probes.failures.append(f"{path}: {type(exc).__name__} after {elapsed:.2f} s")
            continue
        latency = time.monotonic() - started
        problem = response.headers.get("content-type", "").startswith("application/problem+json")
        ok = response.status_code == 200 or (response.status_code == 503 and problem)
        probes.record(str(response.status_code), latency)
        if not ok or latency > answer_timeout:
            probes.failures.append(f"{path}: {response.status_code} in {latency:.2f} s")


async def healthz_within(port: int, limit: float) -> float | None:
    """Seconds until `/healthz` answers 200, or None if not within `limit`."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=limit) as http:
        while (elapsed := time.monotonic() - started) < limit:
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return elapsed
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.05)
    return None


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 4)


async def run(args: argparse.Namespace) -> dict[str, object]:
    raise_own_limit(args.connections + 256)
    with tempfile.TemporaryDirectory(prefix="followup-slow-") as tmp:
        server = Server(Path(tmp), nofile=args.server_nofile)
        server.cli("migrate")
        api_key = json.loads(server.cli("create-account", "--name", "Slow check"))["api_key"]
        server.start()
        try:
            await server.wait_ready()
            log_before = server.log_size()
            probes = Probes()
            stop_probing = asyncio.Event()

            async def probe_loop() -> None:
                async with httpx.AsyncClient(
                    base_url=server.url,
                    timeout=args.answer_timeout,
                    limits=httpx.Limits(max_keepalive_connections=0),
                ) as http:
                    while not stop_probing.is_set():
                        await probe_once(http, api_key, probes, args.answer_timeout)
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop_probing.wait(), args.probe_interval)

            prober = asyncio.create_task(probe_loop())
            opened_at = time.monotonic()
            writers: list[asyncio.StreamWriter] = []
            refused = 0
            for start in range(0, args.connections, 100):
                batch = range(start, min(start + 100, args.connections))
                for writer in await asyncio.gather(*(open_slow(server.port, i) for i in batch)):
                    if writer is None:
                        refused += 1
                    else:
                        writers.append(writer)
            open_seconds = time.monotonic() - opened_at
            await asyncio.sleep(0.5)
            peak_fds = server.open_descriptors()
            await asyncio.sleep(max(0.0, args.hold - (time.monotonic() - opened_at)))
            still_open = sum(1 for w in writers if not w.transport.is_closing())
            stop_probing.set()
            await prober
            for writer in writers:
                writer.transport.abort()
            recovered_in = await healthz_within(
                server.port, max(RECOVERY_WATCH, args.answer_timeout)
            )
            await asyncio.sleep(0.5)
            log_growth = server.log_size() - log_before
            alive = server.proc is not None and server.proc.poll() is None
            soft = server.soft_nofile()
        finally:
            exit_code = server.stop()
            log_tail = server.log_path.read_text(errors="replace")[-1500:]
            if args.keep_log is not None:
                shutil.copyfile(server.log_path, args.keep_log)

    answered = not probes.failures
    checks = {
        "every_request_answered_in_time": answered,
        "log_growth_under_1MB": log_growth < LOG_LIMIT,
        "healthz_in_time_after_close": recovered_in is not None
        and recovered_in <= args.answer_timeout,
        "server_alive_throughout": alive,
    }
    required = dict(checks)
    if args.server_nofile is not None:
        required.pop("every_request_answered_in_time")
        required.pop("healthz_in_time_after_close")
        required["healthz_within_10s_after_close"] = recovered_in is not None
    return {
        "answer_timeout_s": args.answer_timeout,
        "connections_requested": args.connections,
        "connections_opened": len(writers),
        "connections_not_opened": refused,
        "connections_still_open_at_end": still_open,
        "seconds_to_open": round(open_seconds, 2),
        "hold_seconds": args.hold,
        "server_soft_nofile": soft,
        "server_descriptors_at_peak": peak_fds,
        "probe_requests": sum(probes.statuses.values()),
        "probe_outcomes": probes.statuses,
        "probe_latency_p50_s": percentile(probes.latencies, 0.5),
        "probe_latency_p99_s": percentile(probes.latencies, 0.99),
        "probe_latency_max_s": round(max(probes.latencies), 4) if probes.latencies else None,
        "probe_latency_mean_s": (
            round(statistics.fmean(probes.latencies), 4) if probes.latencies else None
        ),
        "probe_failures": probes.failures[:20],
        "log_growth_bytes": log_growth,
        "healthz_after_close_s": None if recovered_in is None else round(recovered_in, 3),
        "server_exit_code": exit_code,
        "checks": checks,
        "passed": all(required.values()),
        "server_log_tail": log_tail if not all(required.values()) else "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument("--connections", type=int, default=3000)
    parser.add_argument("--hold", type=float, default=60.0, help="seconds to hold them")
    parser.add_argument("--probe-interval", type=float, default=0.5)
    parser.add_argument("--server-nofile", type=int, default=None)
    parser.add_argument("--keep-log", type=Path, default=None, help="copy the server log here")
    parser.add_argument(
        "--answer-timeout",
        type=float,
        default=ANSWER_TIMEOUT,
        help="seconds within which every request must be answered (default 2)",
    )
    args = parser.parse_args()
    summary = asyncio.run(run(args))
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    raise SystemExit(0 if summary["passed"] else 1)


if __name__ == "__main__":
    main()
