"""The `followup` command: serve, api, worker, migrate, openapi, create-account, settings, demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

import uvicorn
from pydantic import SecretStr, ValidationError
from pydantic_settings import DotEnvSettingsSource, EnvSettingsSource
from uvicorn.supervisors import Multiprocess

from app import listen
from app.crypto import ConfigurationError, new_key
from app.hardening import prepare_process
from app.settings import Settings, get_settings

STARTUP_FAILURE = 3
"""Exit status when the server could not start (the port is taken, the app failed to load)."""


def _version() -> str:
    try:
        return version("followup")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def _configure_logging(settings: Settings) -> None:
    from app.logs import configure_process_logging

    configure_process_logging(settings)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Server(uvicorn.Server):
    """uvicorn's server, except that a SIGTERM or SIGINT which asked for the drain is not
    raised again once the drain is over: the process then exits 0, as supervisors expect
    of a clean stop (uvicorn re-raises it, and the process dies with 143 or 130)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


APP_FACTORY = "app.main:create_app"
"""What each process of `followup api --workers K` (K > 1) imports and calls to build its app."""


def available_cpus() -> int:
    """The CPUs this process may run on: its affinity mask (which `taskset` and cpusets
    narrow) where the platform has one, else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def api_workers(requested: int | None, settings: Settings) -> int:
    """`--workers` when given; else one process per CPU, except on SQLite: one file has
    one writer at a time, so the API stays one process there unless asked otherwise."""
    from app.db.session import is_sqlite

    if requested is not None:
        return requested
    return 1 if is_sqlite(settings.database_url) else available_cpus()


def _options(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        "log_config": None,  # our logging, set up by `_configure_logging`
        "access_log": False,  # one line per request comes from the app itself
        "timeout_graceful_shutdown": int(settings.shutdown_grace_seconds),
        "timeout_keep_alive": settings.keep_alive_timeout,
    }


def _serve(settings: Settings, *, with_worker: bool, workers: int = 1) -> None:
    options = _options(settings)
    if workers > 1:
        serve_processes(APP_FACTORY, workers, options)
        return

    from app.main import create_app

    config = uvicorn.Config(create_app(settings, with_worker=with_worker), **options)
    server = _Server(config)
    server.run()
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)


WORKER_HEALTHCHECK_SECONDS = 30
"""How long uvicorn's supervisor waits for a process to answer its ping before killing and
replacing it. Its default, 5 s, is shorter than a start when one process per CPU imports
the app at once on a CPU quota below the CPU count: each replacement would be killed too."""


def serve_processes(factory: str, workers: int, options: dict[str, Any]) -> None:
    """`workers` processes, each building its app by calling `factory` (an import
    string), accepting on one listening socket under uvicorn's supervisor. On SIGTERM the
    supervisor drains them and returns, so the command exits 0."""
    config = uvicorn.Config(
        factory,
        factory=True,
        workers=workers,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        **options,
    )
    Multiprocess(config, sockets=[_tcp_socket(config.bind_socket())]).run()


def _tcp_socket(sock: socket.socket) -> socket.socket:
    """The listening socket, declared TCP. asyncio turns Nagle's algorithm off on an
    accepted connection only when its socket says IPPROTO_TCP; uvicorn's says 0, which
    left Nagle on with --workers: ~40 ms per keep-alive response (a response goes out in
    two writes, and the second waits for the client's delayed ACK)."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return sock
    return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, sock.detach())


def _worker(settings: Settings) -> None:
    from app.worker.process import run_worker_process

    run_worker_process(settings)


def _migrate(settings: Settings) -> None:
    from app.db.migrate import upgrade_head

    upgrade_head(settings.database_url)


def _openapi() -> None:
    from app.main import create_app

    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:", admin_token=None))
    sys.stdout.write(json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n")


async def _create_account(settings: Settings, name: str) -> dict[str, str]:
    from app.db.session import create_engine, create_sessionmaker
    from app.services.accounts import create_account

    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            account, issued = await create_account(session, name)
            return {"account_id": account.id, "api_key": issued.plain}
    finally:
        await engine.dispose()


class SettingRow(NamedTuple):
    name: str
    source: str
    """`default`, `environment` or `.env` (the environment wins over `.env`)."""
    value: str


MASK = "********"
_SECRET_WORDS = frozenset({"token", "secret", "password", "passwd"})


def _env_name(cls: type[Settings], field: str) -> str:
    return f"{cls.model_config.get('env_prefix', '')}{field}".upper()


def _is_secret(field: str) -> bool:
    """A plain-text setting whose name says it is a secret (`secret_key`, `*_token`, ...)."""
    return bool(_SECRET_WORDS & set(field.split("_")))


def _mask_url_password(value: str) -> str:
    """`scheme://user:password@host/...` with the password masked; anything else as is."""
    if "://" not in value:
        return value
    parts = urlsplit(value)
    if parts.password is None:
        return value
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


def _render(field: str, value: object) -> str:
    """A value as it would be written in the environment, with secrets masked."""
    if value is None:
        return "(unset)"
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else "(empty)"
    if _is_secret(field):
        return MASK if value else "(empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return ",".join(_render(field, item) for item in value) or "(none)"
    return _mask_url_password(str(value))


def settings_report(settings: Settings) -> list[SettingRow]:
    """Every setting, its value (secrets masked) and where the value came from."""
    cls = type(settings)
    from_env = EnvSettingsSource(cls)()
    from_dotenv = DotEnvSettingsSource(cls)()
    rows = []
    for field in cls.model_fields:
        source = (
            "environment" if field in from_env else ".env" if field in from_dotenv else "default"
        )
        rows.append(
            SettingRow(_env_name(cls, field), source, _render(field, getattr(settings, field)))
        )
    return rows


def setting_defaults(cls: type[Settings] = Settings) -> list[tuple[str, str]]:
    """(environment variable, default as written) for every setting."""
    return [
        (_env_name(cls, field), _render(field, info.get_default(call_default_factory=True)))
        for field, info in cls.model_fields.items()
    ]


def _print_settings(settings: Settings, as_json: bool) -> None:
    rows = settings_report(settings)
    if as_json:
        sys.stdout.write(json.dumps([row._asdict() for row in rows], indent=2) + "\n")
        return
    width = max(len(row.name) for row in rows)
    lines = [f"{'SETTING'.ljust(width)}  {'SOURCE'.ljust(11)}  VALUE"]
    lines += [f"{row.name.ljust(width)}  {row.source.ljust(11)}  {row.value}" for row in rows]
    sys.stdout.write("\n".join(lines) + "\n")


def _demo(settings: Settings, base_url: str | None) -> None:
    from app.demo import DemoError, format_instructions, seed_demo

    logging.getLogger("httpx").setLevel(logging.WARNING)  # the in-process seeding requests
    try:
        seeded = asyncio.run(seed_demo(settings))
    except DemoError as error:
        raise SystemExit(f"followup demo: {error}") from None
    sys.stdout.write(format_instructions(seeded, base_url or _local_base_url(settings)))


def _local_base_url(settings: Settings) -> str:
    """Where `followup serve` with these settings can be reached from this machine."""
    host = settings.host
    if host in {"0.0.0.0", "", "::"}:
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError("a port is between 1 and 65535")
    return port


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return number


def _settings_epilog() -> str:
    rows = setting_defaults()
    width = max(len(name) for name, _ in rows)
    listing = "\n".join(f"  {name.ljust(width)}  default: {default}" for name, default in rows)
    return (
        "settings (environment variables, or lines in ./.env; the environment wins):\n"
        f"{listing}\n\n"
        "`followup settings` prints the values in force and where each comes from.\n"
        "SIGTERM or SIGINT: stop accepting, finish in-flight requests (and deliveries), exit 0."
    )


def _add_listen_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", help="address to bind (overrides FOLLOWUP_HOST; default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=_port, help="port to bind (overrides FOLLOWUP_PORT; default 8000)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="followup",
        description="Interview follow-up service. Settings come from FOLLOWUP_* variables or .env.",
    )
    parser.add_argument("--version", action="version", version=f"followup {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    epilog = _settings_epilog()
    servers = {
        "serve": "API and worker together (the single-machine default; SQLite works here)",
        "api": "the HTTP API only (run `followup worker` beside it)",
    }
    for name, text in servers.items():
        _add_listen_options(
            sub.add_parser(
                name,
                help=text,
                description=text,
                epilog=epilog,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
        )
    api = sub.choices["api"]
    api.add_argument(
        "--workers",
        type=_positive,
        help=(
            "API processes sharing the port, under one supervisor (default: one per CPU "
            f"this process may use, {available_cpus()} here; 1 on SQLite)"
        ),
    )
    worker_help = (
        "the background worker only: opens follow-up windows, delivers signed webhooks "
        "with retries, prunes history older than FOLLOWUP_RETENTION_DAYS; any number may run "
        "against PostgreSQL; SIGTERM/SIGINT stops claiming, lets in-flight deliveries finish "
        "(up to 20 s) and exits 0"
    )
    sub.add_parser("worker", help=worker_help, description=worker_help)
    sub.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    sub.add_parser("openapi", help="print the OpenAPI document")
    sub.add_parser(
        "secret-key",
        help="print a new key for FOLLOWUP_SECRET_KEY (prepend it to rotate: new,old)",
    )
    create = sub.add_parser("create-account", help="create an account and print its first key")
    create.add_argument("--name", required=True, help="the account's display name")
    settings_help = (
        "print every setting with its value and where it comes from (default, environment, "
        ".env); secrets and URL passwords are masked"
    )
    show = sub.add_parser("settings", help=settings_help, description=settings_help)
    show.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    demo_help = (
        "seed a demo account (candidates, interviews, contacts, judged contact attempts, an "
        "open follow-up window) on the configured database and print its API key with three "
        "curl commands to try against `followup serve`"
    )
    demo = sub.add_parser("demo", help=demo_help, description=demo_help)
    demo.add_argument(
        "--base-url",
        help="the server's address in the printed commands (default: from FOLLOWUP_HOST/PORT)",
    )
    listen.add_parser(sub)
    return parser


def _load_settings(args: argparse.Namespace) -> Settings:
    """The settings in force, with `--host`/`--port` applied; exit 2 with a readable
    message (never the offending value, which may be a secret) when one is invalid."""
    try:
        settings = get_settings()
    except ValidationError as error:
        problems = "; ".join(
            f"FOLLOWUP_{'.'.join(str(part) for part in item['loc']).upper()}: {item['msg']}"
            for item in error.errors(include_input=False, include_url=False)
        )
        raise SystemExit(f"followup: invalid setting: {problems}") from None
    overrides = {
        key: value for key in ("host", "port") if (value := getattr(args, key, None)) is not None
    }
    return settings.model_copy(update=overrides) if overrides else settings


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "openapi":
        _openapi()
        return
    if args.command == "secret-key":
        print(new_key())
        return
    try:
        _run(args)
    except ConfigurationError as error:
        raise SystemExit(f"followup: {error}") from None


def _run(args: argparse.Namespace) -> None:
    settings = _load_settings(args)
    if args.command == "settings":
        _print_settings(settings, args.json)
        return
    _configure_logging(settings)
    if args.command in ("serve", "api", "worker"):
        prepare_process()
    if args.command == "serve":
        _serve(settings, with_worker=True)
    elif args.command == "api":
        _serve(settings, with_worker=False, workers=api_workers(args.workers, settings))
    elif args.command == "worker":
        _worker(settings)
    elif args.command == "listen":
        listen.run(args)
    elif args.command == "migrate":
        _migrate(settings)
    elif args.command == "create-account":
        if not 1 <= len(args.name) <= 200:
            raise SystemExit("--name must be 1 to 200 characters")
        print(json.dumps(asyncio.run(_create_account(settings, args.name))))
    elif args.command == "demo":
        _demo(settings, args.base_url)


if __name__ == "__main__":
    main()
