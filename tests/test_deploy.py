"""The deployment files: the image's start script for real; Dockerfile, compose.yaml and
the proxy configuration by structure (no container engine is needed to run the suite)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from app.db.session import create_engine
from tests.servers import Server, followup_env, free_port

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "compose.yaml").read_text()))


def dockerfile_stages() -> dict[str, list[tuple[str, str]]]:
    """Each stage's instructions as (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        instruction, _, args = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            current = stages.setdefault(args.split(" AS ")[-1].strip(), [])
        current.append((instruction.upper(), args.strip()))
    return stages


def test_start_script_migrates_then_serves_and_exits_0_on_sigterm(tmp_path: Path) -> None:
    """The image's default command, on a fresh SQLite file as in `docker run`."""
    port = free_port()
    env = followup_env(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}", FOLLOWUP_PORT=str(port))
    with Server([str(ROOT / "deploy" / "start.sh")], env, tmp_path, port) as server:
        # At head: the script migrated before serving.
        assert server.wait_ready("/readyz").json() == {"status": "ok"}
        code = server.terminate()
    assert code == 0, server.output()


def test_healthcheck_script_follows_the_server(tmp_path: Path) -> None:
    probe = [sys.executable, str(ROOT / "deploy" / "healthcheck.py"), "/healthz"]
    port = free_port()
    env = followup_env(f"sqlite+aiosqlite:///{tmp_path / 'h.db'}", FOLLOWUP_PORT=str(port))
    down = subprocess.run(probe, env=env, capture_output=True, timeout=30, check=False)
    assert down.returncode == 1
    command = [sys.executable, "-m", "app.cli", "api"]
    with Server(command, env, tmp_path, port):
        up = subprocess.run(probe, env=env, capture_output=True, timeout=30, check=False)
    assert up.returncode == 0, up.stderr


def test_runtime_stage_runs_as_a_numeric_non_root_user_with_a_json_command() -> None:
    runtime = dockerfile_stages()["runtime"]
    users = [args for instruction, args in runtime if instruction == "USER"]
    assert users and re.fullmatch(r"[1-9]\d*:[1-9]\d*", users[-1])
    cmd = next(args for instruction, args in runtime if instruction == "CMD")
    assert json.loads(cmd) == ["/app/deploy/start.sh"]
    healthcheck = next(args for instruction, args in runtime if instruction == "HEALTHCHECK")
    assert json.loads(healthcheck.split("CMD", 1)[1])[1] == "/app/deploy/healthcheck.py"
    # No compilers, no package manager runs: the runtime stage only copies the venv in.
    assert not any("apt-get" in args or "pip " in args for _, args in runtime)
    assert ("COPY", "--from=builder /opt/venv /opt/venv") in runtime


def test_builder_installs_exactly_the_locked_dependencies() -> None:
    runs = " ".join(
        args for instruction, args in dockerfile_stages()["builder"] if instruction == "RUN"
    )
    assert "--require-hashes -r requirements.lock" in runs
    assert "--require-hashes -r requirements-build.lock" in runs
    assert "--no-build-isolation" in runs  # the build backend too comes from the lock


def test_every_file_the_image_copies_is_in_the_repository_and_the_build_context() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for stage in dockerfile_stages().values():
        for instruction, args in stage:
            if instruction != "COPY" or "--from=" in args:
                continue
            sources = [word for word in args.split()[:-1] if not word.startswith("--")]
            for source in sources:
                assert (ROOT / source).exists(), source
                assert source.split("/")[0] not in ignored, source


def test_compose_runs_migrate_once_then_two_apis_and_two_workers() -> None:
    services = compose()["services"]
    assert {"postgres", "migrate", "api", "worker", "proxy"} <= set(services)

    migrate = services["migrate"]
    assert migrate["command"] == ["followup", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, command in (
        ("api", ["followup", "api", "--workers", "1"]),
        ("worker", ["followup", "worker"]),
    ):
        service = services[name]
        assert service["command"] == command
        assert service["deploy"]["replicas"] == 2
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        url = service["environment"]["FOLLOWUP_DATABASE_URL"]
        assert url.startswith("postgresql+asyncpg://") and "@postgres:5432/" in url
        assert service["stop_grace_period"] == "30s"  # beyond the 20 s drain
    assert services["proxy"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name, service in compose()["services"].items():
        if name == "migrate":
            continue
        assert service["healthcheck"]["test"][0] == "CMD", name


def test_compose_keeps_secrets_out_of_the_file() -> None:
    text = (ROOT / "compose.yaml").read_text()
    assert "${POSTGRES_PASSWORD:?" in text
    assert "${FOLLOWUP_SECRET_KEY:?" in text
    example = (ROOT / "deploy" / "env.example").read_text()
    for variable in ("POSTGRES_PASSWORD", "FOLLOWUP_SECRET_KEY", "FOLLOWUP_ADMIN_TOKEN"):
        assert f"\n{variable}=\n" in example


def test_postgres_max_connections_covers_every_process_pool() -> None:
    """Each process may hold its whole pool; the replicas together must fit, with room
    for the migration, psql and PostgreSQL's reserved superuser slots."""
    services = compose()["services"]
    command = services["postgres"]["command"]
    max_connections = int(next(arg for arg in command if arg.startswith("max_connections="))[16:])
    engine = create_engine("postgresql+asyncpg://u:p@localhost/db")
    pool = engine.sync_engine.pool
    per_process = pool.size() + pool._max_overflow  # type: ignore[attr-defined]
    processes = services["api"]["deploy"]["replicas"] + services["worker"]["deploy"]["replicas"]
    assert processes * per_process + 10 <= max_connections


def test_proxy_config_is_mounted_and_bounds_slow_clients() -> None:
    proxy = compose()["services"]["proxy"]
    mount = next(volume for volume in proxy["volumes"] if "nginx.conf" in volume)
    source, target, _mode = mount.split(":")
    assert (ROOT / source).is_file() and target == "/etc/nginx/nginx.conf"
    conf = (ROOT / source).read_text()
    for directive in (
        "client_header_timeout",
        "client_body_timeout",
        "keepalive_timeout",
        "send_timeout",
        "limit_conn ",
    ):
        assert re.search(rf"^\s*{directive}\s*\S", conf, re.MULTILINE), directive
    # The API's own 413 problem+json answers bodies just over 1 MiB, not nginx's page.
    limit = re.search(r"client_max_body_size (\d+)m;", conf)
    assert limit and int(limit.group(1)) > 1
    # Requests go to the api service on the port the API listens on.
    api_port = compose()["services"]["api"]["environment"]["FOLLOWUP_PORT"]
    assert f"server api:{api_port} " in conf
