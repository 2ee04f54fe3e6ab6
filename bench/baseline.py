"""The two baselines the API is measured against, on the same uvicorn settings as `followup api`.

- `GET /json`: a FastAPI route returning a fixed JSON document (an interview with its
  windows, about the size of one `GET /v1/interviews/{id}`): the floor of the framework.
- `GET /select`: a FastAPI route doing one SQLAlchemy async `SELECT` by primary key on
  the same database, through the app's own engine settings (`app.db.session`): the floor
  of one database round trip in a session.

Run: `python -m bench.baseline --port PORT --database-url URL --candidate-id ID`.
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from app.db.models import Candidate
from app.db.session import create_engine, create_sessionmaker

DOCUMENT: dict[str, Any] = {
    "id": "intv_3f0c6a1e9b6d4f6f8d1b2c3d4e5f6a7b",
    "candidate_id": "cand_0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e",
    "company": "Northwind Traders",
    "role_title": "Data Analyst",
    "starts_at": "2026-11-02T10:00:00Z",
    "ends_at": "2026-11-02T11:00:00Z",
    "timezone": "Europe/London",
    "format": "video",
    "decision_expected_at": None,
    "external_id": "ats-intv-1042",
    "notes": "Panel with the analytics team; follow up with the hiring manager.",
    "decision": "pending",
    "decided_at": None,
    "created_at": "2026-10-20T09:12:44.120331Z",
    "updated_at": "2026-10-20T09:12:44.120331Z",
    "windows": [
        {
            "id": f"win_{kind[:4]}c6a1e9b6d4f6f8d1b2c3d4e5f6a",
            "interview_id": "intv_3f0c6a1e9b6d4f6f8d1b2c3d4e5f6a7b",
            "kind": kind,
            "opens_at": opens_at,
            "state": "pending",
            "state_changed_at": "2026-10-20T09:12:44.120331Z",
        }
        for kind, opens_at in (
            ("thank_you", "2026-11-03T11:00:00Z"),
            ("check_in", "2026-11-09T11:00:00Z"),
            ("brief_referees", "2026-11-09T11:00:00Z"),
        )
    ],
}


def create_app(database_url: str, candidate_id: str) -> FastAPI:
    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    app = FastAPI()

    @app.get("/json")
    async def fixed_json() -> dict[str, Any]:
        return DOCUMENT

    @app.get("/select")
    async def one_select() -> dict[str, Any]:
        async with sessionmaker() as session:
            row = (
                await session.execute(
                    select(Candidate.id, Candidate.name, Candidate.timezone).where(
                        Candidate.id == candidate_id
                    )
                )
            ).one()
        return {"id": row.id, "name": row.name, "timezone": row.timezone}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--candidate-id", required=True)
    args = parser.parse_args()
    # The same call `followup api` makes (app.cli._serve), at the bench's log level.
    uvicorn.run(
        create_app(args.database_url, args.candidate_id),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        timeout_graceful_shutdown=20,
    )


if __name__ == "__main__":
    main()
