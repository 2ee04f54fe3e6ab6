"""Responses written straight from JSON documents, for the lists and the hot writes.

The interview and window lists are encoded without their Read models: by PostgreSQL
itself (`app.db.sql.json_document`), or on SQLite by pydantic-core's encoder from the
rows, which writes what the models would (an aware UTC datetime ends in `Z`, enums are
their values). The route keeps its `response_model`, so the OpenAPI document is
unchanged; only the second pass (building models, validating them, then dumping them)
is skipped.
"""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel
from pydantic_core import to_json

from app.services.pagination import EncodedPage


def encoded_page_response(page: EncodedPage) -> Response:
    """A `Page` of items already encoded as JSON."""
    body = '{"data":' + page.documents + ',"next_cursor":'
    body += to_json(page.next_cursor).decode() + "}"
    return Response(body.encode(), media_type="application/json")


def model_response(model: BaseModel, status_code: int = 200) -> Response:
    """A response model written once, by pydantic-core: for a route that declares it as
    its `response_model` (OpenAPI unchanged) and builds it itself, FastAPI would dump it,
    validate the dump and dump that again. Output models have no aliases."""
    return Response(model.model_dump_json(), status_code, media_type="application/json")
