"""The `followup` command line: version, listen options, help, settings report, SIGTERM."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.cli import build_parser, main, settings_report
from app.db.migrate import upgrade_head
from app.settings import Settings, get_settings
from tests.servers import Server, followup_env, free_port


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
