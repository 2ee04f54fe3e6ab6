"""The `followup` command line: version, listen options, help, settings report, SIGTERM,
API processes (how many, and Nagle's algorithm off on their connections)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import sys
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app import cli
from app.cli import (
    api_workers,
    available_cpus,
    build_parser,
    main,
    serve_processes,
    settings_report,
)
from app.db.migrate import upgrade_head
from app.settings import Settings, get_settings
from tests.servers import Server, followup_env, free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No FOLLOWUP_* from the parent, no .env of the repository, no cached settings."""
    for name in list(os.environ):
        if name.startswith("FOLLOWUP_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def report(capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, str]]:
    main(["settings", "--json"])
    return {row["name"]: row for row in json.loads(capsys.readouterr().out)}


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == f"followup {version('followup')}\n"


@pytest.mark.parametrize("command", ["serve", "api"])
def test_host_and_port_options_override_the_environment(
    command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.cli import _load_settings

    monkeypatch.setenv("FOLLOWUP_HOST", "10.1.2.3")
    monkeypatch.setenv("FOLLOWUP_PORT", "9000")
    parser = build_parser()

    flagged = _load_settings(parser.parse_args([command, "--host", "127.0.0.2", "--port", "8100"]))
    assert (flagged.host, flagged.port) == ("127.0.0.2", 8100)
    plain = _load_settings(parser.parse_args([command]))
    assert (plain.host, plain.port) == ("10.1.2.3", 9000)


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_a_port_out_of_range_is_refused_before_anything_starts(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["api", "--port", port])
    assert stop.value.code == 2
    assert "--port" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["serve", "api"])
def test_serve_and_api_help_list_every_setting_with_its_default(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "--host" in text and "--port" in text
    for field in Settings.model_fields:
        assert f"FOLLOWUP_{field.upper()} " in text
    assert "default: 8000" in text
    assert "default: sqlite+aiosqlite:///./followup.db" in text
    if command == "api":
        default = f"one per CPU this process may use, {available_cpus()} here; 1 on SQLite"
        assert default in " ".join(text.split())  # argparse wraps the help


def test_settings_names_the_source_of_every_value(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".env").write_text("FOLLOWUP_LOG_LEVEL=debug\nFOLLOWUP_PORT=9100\n")
    monkeypatch.setenv("FOLLOWUP_PORT", "9200")  # the environment wins over .env
    monkeypatch.setenv("FOLLOWUP_WEBHOOK_RETRY_SCHEDULE", "5,60")

    rows = report(capsys)

    assert set(rows) == {f"FOLLOWUP_{field.upper()}" for field in Settings.model_fields}
    assert rows["FOLLOWUP_PORT"] == {
        "name": "FOLLOWUP_PORT",
        "source": "environment",
        "value": "9200",
    }
    assert rows["FOLLOWUP_LOG_LEVEL"]["source"] == ".env"
    assert rows["FOLLOWUP_LOG_LEVEL"]["value"] == "DEBUG"
    assert rows["FOLLOWUP_WEBHOOK_RETRY_SCHEDULE"]["value"] == "5,60"
    assert rows["FOLLOWUP_HOST"] == {
        "name": "FOLLOWUP_HOST",
        "source": "default",
        "value": "127.0.0.1",
    }
    assert rows["FOLLOWUP_ADMIN_TOKEN"]["value"] == "(unset)"


def test_settings_masks_the_admin_token_and_the_database_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".env").write_text("FOLLOWUP_ADMIN_TOKEN=dotenv-admin-token-value\n")
    monkeypatch.setenv(
        "FOLLOWUP_DATABASE_URL", "postgresql+asyncpg://followup:pg-pass-w0rd@db:5432/followup"
    )

    main(["settings"])
    table = capsys.readouterr().out

    assert "dotenv-admin-token-value" not in table
    assert "pg-pass-w0rd" not in table
    assert "postgresql+asyncpg://followup:********@db:5432/followup" in table
    admin = next(line for line in table.splitlines() if line.startswith("FOLLOWUP_ADMIN_TOKEN "))
    assert admin.split() == ["FOLLOWUP_ADMIN_TOKEN", ".env", "********"]


class _WithSecrets(Settings):
    """Settings as they grow: a secret key (either type) and a Redis URL."""

    secret_key: SecretStr | None = None
    signing_secret: str | None = None
    redis_url: str | None = None
    streams_per_key: int = 5


def test_settings_masks_secret_keys_and_redis_passwords_of_any_type(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FOLLOWUP_SECRET_KEY", "the-secret-key-value")
    monkeypatch.setenv("FOLLOWUP_SIGNING_SECRET", "plain-text-secret-value")
    monkeypatch.setenv("FOLLOWUP_REDIS_URL", "redis://:redis-pass-value@redis:6379/0")

    rows = {row.name: row for row in settings_report(_WithSecrets())}

    assert rows["FOLLOWUP_SECRET_KEY"].value == "********"
    assert rows["FOLLOWUP_SIGNING_SECRET"].value == "********"
    assert rows["FOLLOWUP_REDIS_URL"].value == "redis://:********@redis:6379/0"
    assert rows["FOLLOWUP_STREAMS_PER_KEY"].value == "5"  # a "key" in the name is no secret
    assert all(row.source == "environment" for name, row in rows.items() if "SECRET" in name)


def test_an_invalid_setting_is_named_without_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLLOWUP_PORT", "123456789")
    with pytest.raises(SystemExit) as stop:
        main(["settings"])
    message = str(stop.value.code)
    assert message.startswith("followup: invalid setting: FOLLOWUP_PORT")
    assert "123456789" not in message


@pytest.mark.parametrize("extra", [[], ["--workers", "2"]], ids=["one-process", "supervisor"])
def test_api_exits_0_on_sigterm_after_draining(extra: list[str], tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'api.db'}"
    upgrade_head(database)
    port = free_port()
    command = [sys.executable, "-m", "app.cli", "api", "--port", str(port), *extra]
    # FOLLOWUP_PORT says otherwise: --port wins.
    with Server(command, followup_env(database, FOLLOWUP_PORT="1"), tmp_path, port) as server:
        assert server.wait_ready("/readyz").json() == {"status": "ok"}
        code = server.terminate()
        log = server.output()
    assert code == 0, log
    assert "Traceback" not in log


SQLITE = "sqlite+aiosqlite:///./followup.db"
POSTGRES = "postgresql+asyncpg://followup@db/followup"


def test_available_cpus_follow_the_affinity_mask(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {2, 5, 7}, raising=False)
    assert available_cpus() == 3


def test_available_cpus_fall_back_to_the_machine_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert available_cpus() == 6


@pytest.mark.parametrize(
    ("requested", "database", "expected"),
    [
        (None, POSTGRES, 3),  # one per CPU
        (None, SQLITE, 1),  # one writer per file: one process unless asked
        (2, SQLITE, 2),
        (1, POSTGRES, 1),
    ],
)
def test_api_workers_default_to_the_cpus_except_on_sqlite(
    requested: int | None, database: str, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "available_cpus", lambda: 3)
    assert api_workers(requested, Settings(database_url=database)) == expected


@pytest.mark.parametrize(
    ("argv", "expected"), [(["api"], 3), (["api", "--workers", "1"], 1), (["serve"], 1)]
)
def test_api_starts_one_process_per_cpu_and_serve_one(
    argv: list[str], expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[tuple[bool, int]] = []

    def serve(_settings: Settings, *, with_worker: bool, workers: int = 1) -> None:
        started.append((with_worker, workers))

    monkeypatch.setenv("FOLLOWUP_DATABASE_URL", POSTGRES)
    monkeypatch.setattr(cli, "available_cpus", lambda: 3)
    monkeypatch.setattr(cli, "_serve", serve)
    monkeypatch.setattr(cli, "_configure_logging", lambda _settings: None)
    monkeypatch.setattr(cli, "prepare_process", lambda: None)

    main(argv)

    assert started == [(argv[0] == "serve", expected)]


Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def _own_socket_nodelay(peer: tuple[str, int]) -> int | None:
    """TCP_NODELAY of this process's socket connected to `peer` (None: no such socket)."""
    for name in os.listdir("/proc/self/fd"):
        try:
            fd = os.dup(int(name))
        except OSError:  # the listing's own descriptor, closed by now
            continue
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            os.close(fd)
            continue
        with socket.socket(fileno=fd) as sock:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                with contextlib.suppress(OSError):  # listening: no peer
                    if sock.getpeername()[:2] == peer:
                        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    return None


def nodelay_probe() -> Callable[[Scope, Any, Send], Awaitable[None]]:
    """A test-only app for `serve_processes`: answers with the process that accepted the
    request's connection and whether Nagle's algorithm is off on its side of it."""

    async def app(scope: Scope, _receive: Any, send: Send) -> None:
        peer = scope["client"]
        body = {"pid": os.getpid(), "nodelay": _own_socket_nodelay((peer[0], peer[1]))}
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})

    return app


def test_api_processes_turn_nagle_off_on_accepted_connections(tmp_path: Path) -> None:
    """With Nagle on, a keep-alive response waited ~40 ms for the client's delayed ACK."""
    port = free_port()
    options = {"host": "127.0.0.1", "port": port, "lifespan": "off", "log_config": None}
    code = (
        "from app.cli import serve_processes; "
        f"serve_processes('tests.test_cli:nodelay_probe', 2, {options!r})"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with Server([sys.executable, "-c", code], env, tmp_path, port) as server:
        assert server.proc is not None
        supervisor = server.proc.pid
        answers = [httpx.get(f"{server.base_url}/").json() for _ in range(10)]
        server.terminate()
    assert all(answer["pid"] != supervisor for answer in answers), answers
    assert [answer["nodelay"] for answer in answers] == [1] * 10, answers


def test_api_processes_share_a_tcp_socket_and_get_time_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """uvicorn's supervisor kills a process that does not answer its ping in time (5 s by
    default): too short when a process per CPU imports the app at once on a CPU quota."""
    started: list[tuple[Any, list[socket.socket]]] = []

    class Supervisor:
        def __init__(self, config: Any, sockets: list[socket.socket]) -> None:
            started.append((config, sockets))

        def run(self) -> None:
            pass

    monkeypatch.setattr(cli, "Multiprocess", Supervisor)
    options = {"host": "127.0.0.1", "port": free_port(), "log_config": None}
    serve_processes("tests.test_cli:nodelay_probe", 2, options)

    [(config, [listening])] = started
    with listening:
        assert listening.proto == socket.IPPROTO_TCP
        assert listening.getsockname()[1] == options["port"]
    assert config.workers == 2
    assert config.timeout_worker_healthcheck >= 30
