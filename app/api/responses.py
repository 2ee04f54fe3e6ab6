"""Responses written straight from documents (dicts of column values), for the lists.

pydantic-core's encoder writes what the Read models would: an aware UTC datetime ends
in `Z`, enums are their values. The route keeps its `response_model`, so the OpenAPI
document is unchanged; only the second pass (building models, validating them, then
dumping them) is skipped for rows the service read by the model's own field names.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic_core import to_json


def json_response(content: Any, status_code: int = 200) -> Response:
    return Response(to_json(content), status_code=status_code, media_type="application/json")


def page_response(data: list[dict[str, Any]], next_cursor: str | None) -> Response:
    """A `Page` of documents."""
    return json_response({"data": data, "next_cursor": next_cursor})


def encoded_page_response(items: list[str], next_cursor: str | None) -> Response:
    """A `Page` of items already encoded as JSON (by the database, say)."""
    body = '{"data":[' + ",".join(items) + '],"next_cursor":'
    body += to_json(next_cursor).decode() + "}"
    return Response(body.encode(), media_type="application/json")
