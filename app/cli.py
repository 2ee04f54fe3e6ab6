"""The `followup` command: serve, api, worker, migrate, openapi, create-account."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys

import uvicorn

from app.hardening import prepare_process
from app.settings import get_settings


def _configure_logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


def _serve(with_worker: bool) -> None:
    from app.main import create_app

    settings = get_settings()
    app = create_app(settings, with_worker=with_worker)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        timeout_keep_alive=settings.keep_alive_timeout,
    )


def _worker() -> None:
    from app.worker.process import run_worker_process

    run_worker_process(get_settings())


def _migrate() -> None:
    from app.db.migrate import upgrade_head

    upgrade_head(get_settings().database_url)


def _openapi() -> None:
    from app.main import create_app
    from app.settings import Settings

    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:", admin_token=None))
    sys.stdout.write(json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n")


async def _create_account(name: str) -> dict[str, str]:
    from app.db.session import create_engine, create_sessionmaker
    from app.services.accounts import create_account

    engine = create_engine(get_settings().database_url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            account, issued = await create_account(session, name)
            return {"account_id": account.id, "api_key": issued.plain}
    finally:
        await engine.dispose()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="followup",
        description="Interview follow-up service. Settings come from FOLLOWUP_* variables or .env.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="API and worker in one process (the single-machine default)")
    sub.add_parser("api", help="the HTTP API only")
    worker_help = (
        "the background worker only: opens follow-up windows, delivers signed webhooks "
        "with retries, prunes history older than FOLLOWUP_RETENTION_DAYS; any number may run "
        "against PostgreSQL; SIGTERM/SIGINT stops claiming, lets in-flight deliveries finish "
        "(up to 20 s) and exits 0"
    )
    sub.add_parser("worker", help=worker_help, description=worker_help)
    sub.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    sub.add_parser("openapi", help="print the OpenAPI document")
    create = sub.add_parser("create-account", help="create an account and print its first key")
    create.add_argument("--name", required=True, help="the account's display name")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "openapi":
        _openapi()
        return
    _configure_logging()
    if args.command in ("serve", "api", "worker"):
        prepare_process()
    if args.command == "serve":
        _serve(with_worker=True)
    elif args.command == "api":
        _serve(with_worker=False)
    elif args.command == "worker":
        _worker()
    elif args.command == "migrate":
        _migrate()
    elif args.command == "create-account":
        if not 1 <= len(args.name) <= 200:
            raise SystemExit("--name must be 1 to 200 characters")
        print(json.dumps(asyncio.run(_create_account(args.name))))


if __name__ == "__main__":
    main()
