"""Rate-limit isolation check: does a flood from one API key slow down another key?

Starts `followup api` on 127.0.0.1 (fresh SQLite database, FOLLOWUP_RATE_LIMIT as
given), makes two accounts, and measures the latency of key B's `GET /v1/account`
(one keep-alive connection, paced under B's own limit) first with the server idle,
then while key A floods the server from a separate process with several concurrent
keep-alive connections (nearly all of which get 429). Prints a JSON summary and exits
1 when B's loaded p50 is more than `--max-ratio` (2) times its unloaded p50.

    .venv/bin/python scripts/ratelimit_isolation.py
    .venv/bin/python scripts/ratelimit_isolation.py --flood-connections 16 --samples 500

Not a test: its figures depend on the machine (docs/rate-limits.md has a run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from local_server import Server


def flood(url: str, key: str, connections: int, seconds: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Key A's flood, in its own process so it does not share B's event loop."""

    async def main() -> dict[str, int]:
        counts: dict[str, int] = {}
        deadline = time.monotonic() + seconds
        limits = httpx.Limits(max_connections=connections)
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=url, limits=limits, headers=headers) as http:

            async def loop() -> None:
                while time.monotonic() < deadline:
                    try:
                        status = str((await http.get("/v1/account")).status_code)
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    counts[status] = counts.get(status, 0) + 1

            await asyncio.gather(*(loop() for _ in range(connections)))
        return counts

    out.put(asyncio.run(main()))


async def sample(url: str, key: str, count: int, pace: float) -> list[float]:
    """`count` latencies of B's requests, `pace` seconds apart (under B's limit)."""
    latencies: list[float] = []
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=10
    ) as http:
        await http.get("/v1/account")  # open the connection outside the sample
        for _ in range(count):
            started = time.perf_counter()
            response = await http.get("/v1/account")
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"key B got {response.status_code}: {response.text}")
            await asyncio.sleep(pace)
    return latencies


async def in_process_costs(workdir: Path) -> dict[str, float]:
    """CPU per refused and per served request through the app alone (ASGI calls, the
    httpx client's share included): a figure that a busy machine disturbs less."""
    from app.db.migrate import upgrade_head
    from app.main import create_app
    from app.settings import Settings

    url = f"sqlite+aiosqlite:///{workdir / 'cost.db'}"
    await asyncio.to_thread(upgrade_head, url)
    settings = Settings(_env_file=None, database_url=url, admin_token="t", rate_limit="60/minute")
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://cost") as http:
            keys = []
            for name in ("A", "B"):
                made = await http.post(
                    "/admin/accounts", json={"name": name}, headers={"Authorization": "Bearer t"}
                )
                keys.append({"Authorization": f"Bearer {made.json()['api_key']}"})
            for _ in range(60):
                await http.get("/v1/account", headers=keys[0])
            started = time.process_time()
            for _ in range(2000):
                refused = await http.get("/v1/account", headers=keys[0])
            per_refused = (time.process_time() - started) / 2000
            started = time.process_time()
            for _ in range(50):
                served = await http.get("/v1/account", headers=keys[1])
            per_served = (time.process_time() - started) / 50
    finally:
        await app.state.engine.dispose()
    assert refused.status_code == 429 and served.status_code == 200
    return {
        "refused_429_cpu_us": round(per_refused * 1e6),
        "served_get_account_cpu_us": round(per_served * 1e6),
    }


def summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def run(args: argparse.Namespace) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="followup-ratelimit-") as tmp:
        costs = asyncio.run(in_process_costs(Path(tmp)))
        server = Server(
            Path(tmp),
            env={"FOLLOWUP_RATE_LIMIT": args.rate, "FOLLOWUP_LOG_LEVEL": args.log_level},
        )
        server.cli("migrate")
        key_a = json.loads(server.cli("create-account", "--name", "Flooder"))["api_key"]
        key_b = json.loads(server.cli("create-account", "--name", "Neighbour"))["api_key"]
        server.start()
        try:
            asyncio.run(server.wait_ready())
            unloaded = asyncio.run(sample(server.url, key_b, args.samples, args.pace))

            results: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
            seconds = args.samples * (args.pace + 0.01) + 5
            flooder = multiprocessing.Process(
                target=flood, args=(server.url, key_a, args.flood_connections, seconds, results)
            )
            flooder.start()
            time.sleep(2.0)  # let the flood reach its pace
            loaded_started = time.monotonic()
            loaded = asyncio.run(sample(server.url, key_b, args.samples, args.pace))
            loaded_seconds = time.monotonic() - loaded_started
            flood_counts: dict[str, int] = results.get(timeout=seconds + 60)
            flooder.join()
        finally:
            server.stop()

    ratio = statistics.median(loaded) / statistics.median(unloaded)
    flood_total = sum(flood_counts.values())
    return {
        "rate_limit": args.rate,
        "log_level": args.log_level,
        "samples": args.samples,
        "flood_connections": args.flood_connections,
        "key_b_unloaded": summary(unloaded),
        "key_b_under_flood": summary(loaded),
        "p50_ratio": round(ratio, 2),
        "flood_requests": flood_total,
        "flood_requests_per_second": round(flood_total / seconds, 1),
        "flood_outcomes": flood_counts,
        "loaded_phase_seconds": round(loaded_seconds, 1),
        "in_process_cpu": costs,
        "passed": ratio <= args.max_ratio,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument("--rate", default="50/second", help="FOLLOWUP_RATE_LIMIT")
    parser.add_argument("--samples", type=int, default=300, help="key B requests per phase")
    parser.add_argument("--pace", type=float, default=0.03, help="seconds between B's requests")
    parser.add_argument("--flood-connections", type=int, default=8)
    parser.add_argument("--log-level", default="INFO", help="the server's FOLLOWUP_LOG_LEVEL")
    parser.add_argument("--max-ratio", type=float, default=2.0)
    args = parser.parse_args()
    result = run(args)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    raise SystemExit(0 if result["passed"] else 1)


if __name__ == "__main__":
    main()
