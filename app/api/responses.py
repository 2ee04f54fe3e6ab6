"""Responses written straight from JSON documents, for the lists.

The interview and window lists are encoded without their Read models: by PostgreSQL
itself (`app.db.sql.json_document`), or on SQLite by pydantic-core's encoder from the
rows, which writes what the models would (an aware UTC datetime ends in `Z`, enums are
their values). The route keeps its `response_model`, so the OpenAPI document is
unchanged; only the second pass (building models, validating them, then dumping them)
is skipped.
"""

from __future__ import annotations

from fastapi import Response
from pydantic_core import to_json


def encoded_page_response(items: list[str], next_cursor: str | None) -> Response:
    """A `Page` of items already encoded as JSON documents."""
    body = '{"data":[' + ",".join(items) + '],"next_cursor":'
    body += to_json(next_cursor).decode() + "}"
    return Response(body.encode(), media_type="application/json")
