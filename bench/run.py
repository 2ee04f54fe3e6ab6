"""`make bench`: every benchmark in one run, written to bench/results/latest.json.

Phases (6-10 minutes on a shared 2-core machine):
1. API on PostgreSQL (`bench.api`): realistic data (`bench.seed`) in a scratch database;
   `followup api` and the two baselines under wrk, 16 connections, medians of 3 rounds.
2. Webhook latency under that API load with `followup serve` (`bench.serve_latency`),
   on PostgreSQL, then on SQLite (`sqlite.serve.*`).
3. API on SQLite: the two list routes and the SELECT baseline.
4. Delivery worker vs a bare httpx loop (`bench.worker`).
5. Scheduler tick with 10 k and 1 M pending windows (`bench.webhooks`).
6. Policy evaluation's share of a `POST …/contact-attempts` (`bench.policy`).

PostgreSQL: FOLLOWUP_BENCH_DATABASE_URL (default
postgresql+asyncpg://postgres@127.0.0.1:5432/test) names the server; every phase works
in a database of its own that it creates beside that one and drops afterwards, so the
named database's data is never read or written.

Run: `make bench`, or `.venv/bin/python -m bench.run [--quick] [--only api,worker,...]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.db.migrate import upgrade_head
from app.db.session import create_engine
from bench import api, seed, serve_latency, webhooks, worker
from bench import policy as policy_bench
from bench.common import DEFAULT_PG_URL, ROOT, git_commit, machine, scratch_pg_database

PHASES = ("api", "serve", "sqlite", "worker", "scheduler", "policy")
RESULTS = ROOT / "bench" / "results" / "latest.json"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def _insert(url: str, data: seed.Seeded) -> None:
    engine = create_engine(url)
    try:
        await seed.insert(engine, data)
    finally:
        await engine.dispose()


def postgres_phases(
    args: argparse.Namespace, data: seed.Seeded, logs: Path, results: dict[str, Any]
) -> None:
    """API routes and baselines, then webhook latency under load, each on its own scratch
    database: both record attempts, and each seeded interview takes only two emails a week."""

    async def scratch(phase: Callable[[str], None]) -> None:
        async with scratch_pg_database(args.pg_url) as url:
            await _insert(url, data)
            await asyncio.to_thread(phase, url)

    def api_phase(url: str) -> None:
        log("api (PostgreSQL): five routes and two baselines")
        cursor = api.RecordCursor(len(data.record_targets))
        with api.servers(url, data, api.ROUTES, ("base_json", "base_select"), logs) as targets:
            api.measure(
                targets,
                cursor,
                rounds=args.rounds,
                duration=args.duration,
                warmup=args.warmup,
                label="pg",
            )
        results.update(api.summarise(targets, "api"))

    def serve_phase(url: str) -> None:
        log("serve: webhook latency under API load")
        cursor = api.RecordCursor(len(data.record_targets))
        results.update(serve_latency.measure(url, data, cursor, args.serve_duration, args.drain))

    if "api" in args.only:
        asyncio.run(scratch(api_phase))
    if "serve" in args.only:
        asyncio.run(scratch(serve_phase))


@contextmanager
def scratch_sqlite(data: seed.Seeded) -> Iterator[str]:
    """A migrated SQLite database in a temporary directory, holding `data`."""
    with tempfile.TemporaryDirectory(prefix="followup-bench-sqlite-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        upgrade_head(url)
        asyncio.run(_insert(url, data))
        yield url


def sqlite_phase(
    args: argparse.Namespace, data: seed.Seeded, logs: Path, results: dict[str, Any]
) -> None:
    log("sqlite: list routes and the SELECT baseline")
    with scratch_sqlite(data) as url:
        cursor = api.RecordCursor(len(data.record_targets))
        routes = ("list_interviews", "list_windows")
        with api.servers(url, data, routes, ("base_select",), logs) as targets:
            api.measure(
                targets,
                cursor,
                rounds=args.rounds,
                duration=args.sqlite_duration,
                warmup=args.warmup,
                label="sqlite",
            )
        results.update(api.summarise(targets, "sqlite.api"))


def sqlite_serve_phase(
    args: argparse.Namespace, data: seed.Seeded, results: dict[str, Any]
) -> None:
    log("serve (SQLite): webhook latency under API load")
    with scratch_sqlite(data) as url:
        cursor = api.RecordCursor(len(data.record_targets))
        results.update(
            serve_latency.measure(
                url, data, cursor, args.serve_duration, args.drain, prefix="sqlite.serve"
            )
        )


def worker_phase(args: argparse.Namespace, logs: Path, results: dict[str, Any]) -> None:
    log("worker: one `followup worker` vs a bare httpx loop")
    results.update(
        worker.measure(args.pg_url, args.deliveries, args.one_endpoint, args.rounds, logs)
    )


def scheduler_phase(args: argparse.Namespace, results: dict[str, Any]) -> None:
    log("scheduler: one tick (500 due) among 10 k and 1 M pending windows")
    ticks = asyncio.run(
        webhooks.scheduler_ticks(args.pg_url, [10_000, args.large_windows], args.tick_repeats)
    )
    (small_busy, small_idle), (large_busy, large_idle) = ticks[10_000], ticks[args.large_windows]
    results["scheduler.tick_10k_ms"] = round(small_busy * 1000, 2)
    results["scheduler.tick_1m_ms"] = round(large_busy * 1000, 2)
    results["scheduler.tick_1m_over_10k"] = round(large_busy / small_busy, 3)
    results["scheduler.idle_tick_10k_ms"] = round(small_idle * 1000, 3)
    results["scheduler.idle_tick_1m_ms"] = round(large_idle * 1000, 3)


def policy_phase(args: argparse.Namespace, results: dict[str, Any]) -> None:
    log("policy: pure evaluation vs the whole POST")
    pure, request = policy_bench.measure(args.policy_requests, 500)
    results["policy.evaluate_ms"] = round(pure * 1000, 3)
    results["policy.post_ms"] = round(request * 1000, 2)
    results["policy.share_of_post"] = round(pure / request, 4)


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and abs(value) < 10 and digits == 1:
        return f"{value:.2f}"
    return f"{value:,.{digits}f}" if isinstance(value, float) else str(value)


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Machine: {results['machine']}; commit {results['commit']}; "
        f"load average {results['load_average_before']} before, "
        f"{results['load_average_after']} after.",
        "",
        "| PostgreSQL, 16 connections | req/s | / select | / json | p50 ms | p99 ms | CPU ms/req |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for route in api.ROUTES:
        key = f"api.{route}"
        if f"{key}.rps" not in results:
            continue
        lines.append(
            f"| `{route}` | {_fmt(results[f'{key}.rps'])} "
            f"| {results[f'{key}.ratio_select']:.1%} | {results[f'{key}.ratio_json']:.1%} "
            f"| {_fmt(results[f'{key}.p50_ms'])} | {_fmt(results[f'{key}.p99_ms'])} "
            f"| {_fmt(results[f'{key}.cpu_ms'])} |"
        )
    for kind in ("select", "json"):
        key = f"baseline.{kind}"
        if f"{key}.rps" in results:
            lines.append(
                f"| baseline `{kind}` | {_fmt(results[f'{key}.rps'])} | | "
                f"| {_fmt(results[f'{key}.p50_ms'])} | {_fmt(results[f'{key}.p99_ms'])} "
                f"| {_fmt(results[f'{key}.cpu_ms'])} |"
            )
    if "sqlite.api.list_interviews.rps" in results:
        lines += [
            "",
            "| SQLite, 16 connections | req/s | / select | p50 ms | p99 ms | CPU ms/req |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for route in ("list_interviews", "list_windows"):
            key = f"sqlite.api.{route}"
            lines.append(
                f"| `{route}` | {_fmt(results[f'{key}.rps'])} "
                f"| {results[f'{key}.ratio_select']:.1%} | {_fmt(results[f'{key}.p50_ms'])} "
                f"| {_fmt(results[f'{key}.p99_ms'])} | {_fmt(results[f'{key}.cpu_ms'])} |"
            )
        key = "sqlite.baseline.select"
        lines.append(
            f"| baseline `select` | {_fmt(results[f'{key}.rps'])} | "
            f"| {_fmt(results[f'{key}.p50_ms'])} | {_fmt(results[f'{key}.p99_ms'])} "
            f"| {_fmt(results[f'{key}.cpu_ms'])} |"
        )
    others = [
        ("worker.delivery.rps", "deliveries/s, one `followup worker`, 8 endpoints"),
        ("worker.delivery.ratio_bare", "… / bare httpx loop (32 in flight)"),
        ("worker.delivery.cpu_ms", "worker CPU ms per delivery"),
        ("worker.one_endpoint.rps", "deliveries/s, all for one endpoint"),
        ("worker.one_endpoint.ratio_bare", "… / bare httpx loop (4 in flight)"),
        ("serve.latency_under_load.p50_s", "`followup serve`, event → receipt p50, s"),
        ("serve.latency_under_load.p99_s", "… p99, s (16 connections recording attempts)"),
        ("serve.latency_under_load.undelivered", "… events not received within the drain"),
        ("serve.api_under_load.rps", "… attempts recorded/s meanwhile"),
        ("sqlite.serve.latency_under_load.p50_s", "`followup serve` on SQLite, p50, s"),
        ("sqlite.serve.latency_under_load.p99_s", "… p99, s"),
        ("sqlite.serve.latency_under_load.undelivered", "… events not received within the drain"),
        ("sqlite.serve.api_under_load.rps", "… attempts recorded/s meanwhile"),
        ("scheduler.tick_10k_ms", "scheduler tick, 500 due among 10 k pending, ms"),
        ("scheduler.tick_1m_ms", "… among 1 M pending, ms"),
        ("scheduler.tick_1m_over_10k", "… ratio 1 M / 10 k"),
        ("policy.evaluate_ms", "pure policy evaluation, 300-word email, ms"),
        ("policy.post_ms", "whole `POST …/contact-attempts` (1 client, SQLite), ms"),
        ("policy.share_of_post", "evaluation's share of that POST"),
    ]
    present = [(key, label) for key, label in others if key in results]
    if present:
        lines += ["", "| measure | key | value |", "|---|---|---:|"]
        for key, label in present:
            value = results[key]
            shown = f"{value:.1%}" if "ratio" in key or "share" in key else _fmt(value, 2)
            lines.append(f"| {label} | `{key}` | {shown} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PHASES), help="comma-separated phases")
    parser.add_argument("--quick", action="store_true", help="short runs, to try things out")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--sqlite-duration", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--serve-duration", type=int, default=8)
    parser.add_argument("--drain", type=float, default=20)
    parser.add_argument("--deliveries", type=int, default=600)
    parser.add_argument(
        "--one-endpoint",
        type=int,
        default=2000,
        help="deliveries per one-endpoint round: a backlog, so the round times the rate "
        "rather than the wake-up (rounds of 60 measured 525/s, backlogs 605-1,020/s)",
    )
    parser.add_argument("--large-windows", type=int, default=1_000_000)
    parser.add_argument("--tick-repeats", type=int, default=5)
    parser.add_argument("--policy-requests", type=int, default=100)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--pg-url", default=os.environ.get("FOLLOWUP_BENCH_DATABASE_URL", DEFAULT_PG_URL)
    )
    args = parser.parse_args()
    args.only = set(args.only.split(","))
    unknown = args.only - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    if args.quick:
        args.rounds, args.duration, args.sqlite_duration, args.warmup = 1, 2, 2, 1
        args.serve_duration, args.deliveries, args.one_endpoint = 3, 300, 300
        args.large_windows, args.tick_repeats, args.policy_requests = 100_000, 3, 50

    api.ensure_wrk()
    started = time.monotonic()
    results: dict[str, Any] = {
        "machine": machine(),
        "commit": git_commit(),
        "load_average_before": round(os.getloadavg()[0], 2),
    }
    log(f"bench on {results['machine']}, commit {results['commit']}")
    with tempfile.TemporaryDirectory(prefix="followup-bench-") as tmp:
        logs = Path(tmp)
        data: seed.Seeded | None = None
        if args.only & {"api", "serve", "sqlite"}:
            log("seeding: 1,000 candidates, 10,000 interviews with their history")
            data = seed.build()
            log("  " + ", ".join(f"{n:,} {table}" for table, n in data.counts().items()))
        phases: list[tuple[str, Callable[[], None]]] = []
        if data is not None and args.only & {"api", "serve"}:
            phases.append(("postgres", lambda: postgres_phases(args, data, logs, results)))
        if data is not None and "serve" in args.only:
            phases.append(("serve on SQLite", lambda: sqlite_serve_phase(args, data, results)))
        if data is not None and "sqlite" in args.only:
            phases.append(("sqlite", lambda: sqlite_phase(args, data, logs, results)))
        if "worker" in args.only:
            phases.append(("worker", lambda: worker_phase(args, logs, results)))
        if "scheduler" in args.only:
            phases.append(("scheduler", lambda: scheduler_phase(args, results)))
        if "policy" in args.only:
            phases.append(("policy", lambda: policy_phase(args, results)))
        for name, phase in phases:
            phase_started = time.monotonic()
            phase()
            log(f"  {name} took {time.monotonic() - phase_started:.0f} s")
    results["load_average_after"] = round(os.getloadavg()[0], 2)
    results["bench.seconds"] = round(time.monotonic() - started, 1)
    ordered = {key: results[key] for key in sorted(results)}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(ordered, indent=2, ensure_ascii=False) + "\n")
    print(markdown(results))
    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
    print(f"\nwritten to {shown} in {results['bench.seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
