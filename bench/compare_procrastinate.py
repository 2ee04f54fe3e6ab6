"""Side by side, on demand: the delivery worker vs procrastinate doing the same POSTs.

Not part of `make bench` or CI, and procrastinate is not a project dependency: the
script builds a temporary venv (or reuses `--venv`) and installs procrastinate,
psycopg and httpx into it from PyPI.

Setup: a scratch PostgreSQL database (migrated, like `bench.worker`), one local
receiver, N deliveries of a realistic `followup.window_opened` event over 8 endpoints.
1. `followup worker` (defaults: 32 in flight, 4 per endpoint) delivers all N: timed
   from their release to the last one recorded as succeeded.
2. procrastinate (its schema applied to the same database) gets one job per delivery,
   deferred beforehand (untimed); one procrastinate worker with `concurrency` 32 runs a
   task that signs the same body (Standard Webhooks) and POSTs it with a shared
   `httpx.AsyncClient`; timed from the worker's start to its exit on an empty queue.
3. For reference, a bare httpx loop with 32 lanes and no database.

Both queues keep their state in PostgreSQL; the followup worker does more per delivery
(lease and token, SSRF check at send time, attempt log row, retry schedule, endpoint
health), procrastinate less (job status and events). The figures say what that costs.

Run: `.venv/bin/python -m bench.compare_procrastinate [--deliveries 2000] [--venv DIR]`
(PostgreSQL from FOLLOWUP_BENCH_DATABASE_URL, default the local `test` server; the
scratch database is created beside it and dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.db.session import create_engine
from bench.common import (
    DEFAULT_PG_URL,
    NO_RATE_LIMIT,
    ROOT,
    SECRET_KEY,
    followup_command,
    process,
    scratch_pg_database,
)
from bench.receiver import receiver_process
from bench.worker import CONCURRENCY, ENDPOINTS, PER_ENDPOINT, bare_loop, payloads, seed
from bench.worker import worker_round as followup_round

REQUIREMENTS = ["procrastinate>=3,<4", "psycopg[binary]>=3.1,<4", "httpx>=0.27,<1"]


def venv_python(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"building a venv for procrastinate in {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *REQUIREMENTS], check=True)
    return python


async def compare(admin_url: str, count: int, python: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    with receiver_process() as receiver, tempfile.TemporaryDirectory() as tmp:
        async with scratch_pg_database(admin_url) as url:
            engine = create_engine(url)
            try:
                await seed(engine, receiver, {"f": (count, ENDPOINTS)})
                work = await payloads(engine, "f")
                await bare_loop(work[:200], CONCURRENCY)  # warm up the receiver
                out["bare_rps"] = count / await bare_loop(work, CONCURRENCY)

                env = {
                    "FOLLOWUP_DATABASE_URL": url,
                    "FOLLOWUP_SECRET_KEY": SECRET_KEY,
                    "FOLLOWUP_RATE_LIMIT": NO_RATE_LIMIT,
                    "FOLLOWUP_WEBHOOK_ALLOW_PRIVATE": "true",
                    "FOLLOWUP_LOG_LEVEL": "WARNING",
                    "FOLLOWUP_WORKER_CONCURRENCY": str(CONCURRENCY),
                    "FOLLOWUP_WORKER_PER_ENDPOINT_CONCURRENCY": str(PER_ENDPOINT),
                }
                log = Path(tmp) / "worker.log"
                with process(followup_command("worker"), env, log) as worker:
                    await asyncio.sleep(2)
                    seconds, cpu = await followup_round(engine, "f", count, worker.pid)
                out["followup_rps"] = count / seconds
                out["followup_cpu_ms"] = cpu * 1000 / count

                jobs = Path(tmp) / "deliveries.json"
                jobs.write_text(
                    json.dumps(
                        [
                            {
                                "url": target,
                                "event_id": event_id,
                                "body": body.decode(),
                                "secret": secrets[0],
                            }
                            for target, event_id, body, secrets in work
                        ]
                    )
                )
                conninfo = make_url(url).set(drivername="postgresql").render_as_string(False)
                side = ROOT / "bench" / "procrastinate_side.py"
                result = subprocess.run(
                    [str(python), str(side), conninfo, str(jobs), str(CONCURRENCY)],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                measured = json.loads(result.stdout.strip().splitlines()[-1])
                async with engine.connect() as conn:
                    statuses = dict(
                        (
                            await conn.execute(
                                text("SELECT status, count(*) FROM procrastinate_jobs GROUP BY 1")
                            )
                        ).all()
                    )
                if statuses.get("succeeded", 0) != count:
                    raise RuntimeError(f"procrastinate jobs ended as {statuses}")
                out["procrastinate_rps"] = count / measured["seconds"]
                out["procrastinate_cpu_ms"] = measured["cpu_seconds"] * 1000 / count
            finally:
                await engine.dispose()
    out["followup_over_procrastinate"] = out["followup_rps"] / out["procrastinate_rps"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--venv", type=Path, help="reuse (or build) the procrastinate venv here")
    args = parser.parse_args()
    admin_url = os.environ.get("FOLLOWUP_BENCH_DATABASE_URL", DEFAULT_PG_URL)
    with tempfile.TemporaryDirectory(prefix="procrastinate-venv-") as tmp:
        python = venv_python(args.venv or Path(tmp) / "venv")
        results = asyncio.run(compare(admin_url, args.deliveries, python))
    print(f"{args.deliveries:,} deliveries to {ENDPOINTS} endpoints, {CONCURRENCY} in flight")
    print("| sender | deliveries/s | CPU ms/delivery |")
    print("|---|---:|---:|")
    print(f"| bare httpx loop | {results['bare_rps']:,.0f} | |")
    print(
        f"| `followup worker` | {results['followup_rps']:,.0f} | {results['followup_cpu_ms']:.2f} |"
    )
    print(
        f"| procrastinate worker | {results['procrastinate_rps']:,.0f} "
        f"| {results['procrastinate_cpu_ms']:.2f} |"
    )
    print(f"followup / procrastinate: {results['followup_over_procrastinate']:.0%}")


if __name__ == "__main__":
    main()
