"""Where a route's CPU time goes: py-spy on `followup api` while wrk drives the route.

On demand (not in `make bench`). Same data and load as `bench.api` on PostgreSQL: a
scratch database with the seeded account, one `followup api`, wrk with 16 connections.
py-spy (from PyPI, installed into a cache directory when it is not on PATH; not a
project dependency) samples the server for `--duration` seconds per route: the thread
holding the GIL only, so waiting (in the event loop or the idle thread pool) is not
counted. For each route it writes the collapsed stacks (`<route>.txt`, for flamegraph
tools or speedscope) and prints: CPU share by layer, the functions with the most time
inside them (inclusive) among the app's own code, and the hottest frames (self time).

Run: `.venv/bin/python -m bench.profile [--routes record,list_interviews] [--duration 15]
[--out DIR]`. bench/PROFILE.md summarises one such run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench import api, seed
from bench.common import DEFAULT_PG_URL, ROOT, scratch_pg_database

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "followup-bench"
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")

LAYERS = (
    ("app (project code)", ("app/",)),
    ("policy / proofreading", ("spellchecker/",)),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("asyncpg / aiosqlite", ("asyncpg/", "aiosqlite/", "sqlite3/")),
    ("pydantic", ("pydantic/", "pydantic_core/")),
    ("FastAPI / Starlette", ("fastapi/", "starlette/")),
    ("uvicorn / h11", ("uvicorn/", "h11/")),
    ("asyncio", ("asyncio/",)),
    ("json", ("json/",)),
)
PASS_THROUGH = ("app/cli.py", "app/api/middleware.py", "app/api/idempotency.py")
"""Files whose entry frames (`PASS_THROUGH_FUNCTIONS`) wrap every request; their
inclusive share says nothing about a route."""
PASS_THROUGH_FUNCTIONS = ("__call__", "main", "_run", "_serve")


def py_spy() -> str:
    found = shutil.which("py-spy") or (CACHE / "py-spy" / "bin" / "py-spy")
    if isinstance(found, Path) and not found.exists():
        print(f"installing py-spy into {CACHE / 'py-spy'}", file=sys.stderr)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--target",
                str(CACHE / "py-spy"),
                "py-spy>=0.3,<1",
            ],
            check=True,
        )
    return str(found)


def parse(path: Path) -> list[tuple[list[tuple[str, str]], int]]:
    """Collapsed stacks → [([(function, file), ...] root first, samples)]."""
    stacks = []
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        parsed = []
        for frame in frames.split(";"):
            match = FRAME.match(frame)
            if match:
                parsed.append((match["function"], match["file"]))
            else:
                parsed.append((frame, ""))
        stacks.append((parsed, int(count)))
    return stacks


def _short(file: str) -> str:
    for marker in ("site-packages/", "/lib/python3.11/", str(ROOT) + "/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


def layer_of(file: str) -> str:
    short = _short(file)
    for name, prefixes in LAYERS:
        if short.startswith(prefixes):
            return name
    return "other (stdlib, generated code)"


def summary(route: str, stacks: list[tuple[list[tuple[str, str]], int]], top: int) -> str:
    total = sum(count for _, count in stacks) or 1
    layers: Counter[str] = Counter()
    own: Counter[str] = Counter()
    hottest: Counter[str] = Counter()
    for frames, count in stacks:
        # A sample belongs to the innermost layer that is not plain asyncio/other glue.
        leaf_layer = layer_of(frames[-1][1]) if frames else "other"
        layers[leaf_layer] += count
        function, file = frames[-1] if frames else ("?", "")
        hottest[f"{function} ({_short(file)})"] += count
        seen = set()
        for function, file in frames:
            short = _short(file)
            if short.startswith("app/") and not (
                short in PASS_THROUGH and function.endswith(PASS_THROUGH_FUNCTIONS)
            ):
                key = f"{function} ({_short(file)})"
                if key not in seen:
                    seen.add(key)
                    own[key] += count
    lines = [f"### `{route}` ({total} samples)", "", "CPU by layer (innermost frame):", ""]
    lines += [f"- {name}: {count / total:.0%}" for name, count in layers.most_common()]
    lines += ["", "App functions, inclusive:", ""]
    lines += [f"- {count / total:5.1%}  {key}" for key, count in own.most_common(top)]
    lines += ["", "Hottest frames, self time:", ""]
    lines += [f"- {count / total:5.1%}  {key}" for key, count in hottest.most_common(top)]
    return "\n".join(lines)


async def _insert(url: str, data: seed.Seeded) -> None:
    from app.db.session import create_engine

    engine = create_engine(url)
    try:
        await seed.insert(engine, data)
    finally:
        await engine.dispose()


def profile(args: argparse.Namespace) -> None:
    spy = py_spy()
    data = seed.build()
    args.out.mkdir(parents=True, exist_ok=True)

    async def run() -> None:
        async with scratch_pg_database(args.pg_url) as url:
            await _insert(url, data)
            await asyncio.to_thread(sample, url)

    def sample(url: str) -> None:
        cursor = api.RecordCursor(len(data.record_targets))
        with (
            tempfile.TemporaryDirectory() as tmp,
            api.servers(url, data, args.routes, (), Path(tmp)) as targets,
        ):
            for target in targets:
                target.params_file = api.write_params(Path(tmp), target.name, target.params)
                api.smoke(target, cursor.take(1) if target.consumes else 0)
                warm = api.run_wrk(target, 2, cursor.position if target.consumes else 0)
                if target.consumes:
                    cursor.take(warm.requests + api.CONNECTIONS)
                out = args.out / f"{target.name}.txt"
                spy_proc = subprocess.Popen(
                    [
                        spy,
                        "record",
                        "--pid",
                        str(target.pid),
                        "--duration",
                        str(args.duration),
                        "--rate",
                        "250",
                        # Only the thread holding the GIL: FastAPI's idle thread pool
                        # (sync dependencies) would otherwise show up as busy.
                        "--gil",
                        "--format",
                        "raw",
                        "--output",
                        str(out),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                run = api.run_wrk(
                    target, args.duration + 1, cursor.position if target.consumes else 0
                )
                if target.consumes:
                    cursor.take(run.requests + api.CONNECTIONS)
                spy_proc.wait(timeout=args.duration + 30)
                print(summary(target.name, parse(out), args.top), end="\n\n", flush=True)

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", default="record,list_interviews,list_windows,evaluate")
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "followup-profile"
    )
    parser.add_argument(
        "--pg-url", default=os.environ.get("FOLLOWUP_BENCH_DATABASE_URL", DEFAULT_PG_URL)
    )
    args = parser.parse_args()
    args.routes = [r for r in args.routes.split(",") if r]
    unknown = set(args.routes) - set(api.ROUTES)
    if unknown:
        parser.error(f"unknown routes: {', '.join(sorted(unknown))}")
    api.ensure_wrk()
    profile(args)


if __name__ == "__main__":
    main()
