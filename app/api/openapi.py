"""The OpenAPI document as a product: names, tags, security and error responses, in one place.

Routes declare what is particular to them (summary, docstring, a typed 422 or 409); every
route built with `ApiRoute` gets the rest from here, by one rule each:

- operationIds are the route's name (`create_candidate`, `list_interviews`, ...);
- everything under `/v1/` needs an API key, `/admin/` the admin token, the rest nothing
  (`security: []`);
- every POST takes an `Idempotency-Key` header and may answer 409 (same key in flight);
- every 201 carries `Location`, the created resource's path;
- error responses are `application/problem+json` with a problem schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request, Response
from fastapi.dependencies.utils import get_flat_params
from fastapi.openapi.constants import REF_PREFIX
from fastapi.routing import APIRoute
from pydantic import StringConstraints, WithJsonSchema

from app.api.problems import PROBLEM_MEDIA_TYPE
from app.schemas.problem import ConflictProblem, InputRefusal, Problem, ValidationProblem

API_KEY_SCHEME = "ApiKey"
ADMIN_TOKEN_SCHEME = "AdminToken"

TAGS: list[dict[str, Any]] = [
    {
        "name": "candidates",
        "description": "The job seekers an account follows up for. `external_id` is unique "
        "per account, for matching records from an ATS.",
    },
    {
        "name": "interviews",
        "description": "An interview of a candidate, its decision and its three follow-up "
        "windows. A decision other than `pending` cancels windows that have not opened.",
    },
    {
        "name": "contacts",
        "description": "The people at the employer (recruiter, hiring manager, interviewer) "
        "and the candidate's referees, per interview.",
    },
    {
        "name": "contact attempts",
        "description": "Emails, calls, messages and posts, each judged by the follow-up "
        "policy: a `block` finding refuses it with 422 `policy-violation`; `evaluate` asks "
        "the same question without storing anything.",
    },
    {
        "name": "follow-up windows",
        "description": "When to send a thank-you, check in and brief referees. Windows open "
        "on time and emit `followup.window_opened`.",
    },
    {
        "name": "policy",
        "description": "The account's policy settings: which rules run, their severities, "
        "the weekly limit, delays and calling hours.",
    },
    {
        "name": "events",
        "description": "Every change, stored in the same transaction as the change itself; "
        "the body of every webhook delivery.",
    },
    {
        "name": "webhooks",
        "description": "Endpoints that receive events, signed per Standard Webhooks and "
        "retried with back-off; their deliveries and attempt logs.",
    },
    {
        "name": "account",
        "description": "The calling account and its API keys. A plain key is shown once, "
        "when it is created.",
    },
    {
        "name": "admin",
        "description": "Operator actions, enabled only when `FOLLOWUP_ADMIN_TOKEN` is set and "
        "sent as the bearer token; otherwise they answer 404.",
    },
    {
        "name": "ops",
        "description": "Unauthenticated liveness, readiness and Prometheus metrics.",
    },
]

SERVERS: list[dict[str, Any]] = [
    {"url": "/", "description": "The server that serves this document."},
]

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
    }
}
_LOCATION = {
    "Location": {
        "description": "The path of the created resource.",
        "schema": {
            "type": "string",
            "examples": ["/v1/candidates/cand_5f0c6a4e9b1d4f7e8a2b3c4d5e6f7a8b"],
        },
    }
}
_REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored response to an earlier request with "
        "the same `Idempotency-Key`.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}

_ADMIN_LOCATION = "/v1/account"
"""An account created by an operator is read at `/v1/account`, with its own key."""


def operation_id(route: APIRoute) -> str:
    """The route's name: `verb_resource`, stable and readable in generated clients."""
    return route.name


def requires_api_key(path: str) -> bool:
    return path.startswith("/v1/")


def _is_admin(path: str) -> bool:
    return path.startswith("/admin/")


async def idempotency_key(
    key: Annotated[
        Annotated[str, StringConstraints(min_length=1, max_length=255)] | None,
        Header(
            alias="Idempotency-Key",
            description="Makes the POST safe to retry: the same key with the same body "
            "replays the first response (`Idempotent-Replayed: true`); with another body, "
            "422 `idempotency-key-reuse`; while the first is in flight, 409. Keys are kept "
            "24 hours per caller.",
        ),
        # Optional, but never null: clients send a key or no header at all.
        WithJsonSchema(
            {
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
                "examples": ["3f1c9a52-7d1e-4b8e-a0f4-6d2b9e0c1a77"],
            }
        ),
    ] = None,
) -> None:
    """Declares the header; `IdempotencyMiddleware` does the work before the route runs."""


def _standard_responses(
    path: str, methods: set[str], status_code: int | None
) -> dict[int | str, dict[str, Any]]:
    """The responses every route with this path and method has, by the rules above."""
    guarded = requires_api_key(path) or _is_admin(path)
    responses: dict[int | str, dict[str, Any]] = {}
    if "POST" in methods:
        success = status_code or 200
        headers = {**_REPLAYED, **(_LOCATION if success == 201 else {})}
        responses[success] = {"headers": headers}
    if requires_api_key(path):
        responses[401] = {
            "model": Problem,
            "description": "`unauthorized`: the API key is missing, invalid or revoked.",
        }
    if "{" in path:
        responses[404] = {
            "model": Problem,
            "description": "`not-found`: no such resource in this account (another "
            "account's resources answer the same).",
        }
    elif _is_admin(path):
        responses[404] = {
            "model": Problem,
            "description": "`not-found`: `FOLLOWUP_ADMIN_TOKEN` is unset, or another token "
            "was sent.",
        }
    if "POST" in methods:
        responses[409] = {
            "model": Problem,
            "description": "`conflict`: a request with the same `Idempotency-Key` is still "
            "in flight.",
        }
    if methods & {"POST", "PUT", "PATCH"}:
        responses[413] = {
            "model": Problem,
            "description": "`payload-too-large`: the body is over 1 MiB.",
        }
    if "POST" in methods:
        responses[422] = {
            "model": InputRefusal,
            "description": "`validation-error`: the body, query, path or a header is "
            "invalid; or `idempotency-key-reuse`: the key was used for another request.",
        }
    else:
        responses[422] = {
            "model": ValidationProblem,
            "description": "`validation-error`: the body, query or path is invalid.",
        }
    if guarded:
        responses[429] = {
            "model": Problem,
            "headers": _RETRY_AFTER,
            "description": "`rate-limited`: over this caller's rate limit.",
        }
        responses[503] = {
            "model": Problem,
            "headers": _RETRY_AFTER,
            "description": "`service-unavailable`: the database cannot be reached.",
        }
    return responses


def _merge(
    standard: dict[int | str, dict[str, Any]], given: dict[int | str, dict[str, Any]]
) -> dict[int | str, dict[str, Any]]:
    """A route's own entry refines the standard one for the same status."""
    merged = dict(standard)
    for code, entry in given.items():
        merged[code] = {**standard.get(code, {}), **entry}
    return merged


_LEADING_ID = re.compile(rb'\{"id":"([A-Za-z0-9_-]+)"')
"""A Read model's JSON as pydantic writes it: `id` first, no spaces."""


def _location(request: Request, body: bytes) -> str | None:
    path = request.url.path.rstrip("/")
    if _is_admin(path):
        return _ADMIN_LOCATION
    leading = _LEADING_ID.match(body)
    if leading is not None:  # no need to parse the whole document for its id
        return f"{path}/{leading.group(1).decode()}"
    try:
        created = json.loads(body)
    except ValueError:
        return None
    resource_id = created.get("id") if isinstance(created, dict) else None
    return f"{path}/{resource_id}" if isinstance(resource_id, str) else None


class ApiRoute(APIRoute):
    """A route documented and answered by the rules of this module."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {method.upper() for method in kwargs.get("methods") or ()}
        standard = _standard_responses(path, methods, kwargs.get("status_code"))
        kwargs["responses"] = _merge(standard, kwargs.get("responses") or {})
        if "POST" in methods:
            kwargs["dependencies"] = [
                *(kwargs.get("dependencies") or ()),
                Depends(idempotency_key),
            ]
        if not (requires_api_key(path) or _is_admin(path)):
            kwargs["openapi_extra"] = {"security": [], **(kwargs.get("openapi_extra") or {})}
        super().__init__(path, endpoint, **kwargs)
        if not get_flat_params(self.dependant) and self.body_field is None:
            # Nothing to validate: a 422 could never happen here.
            self.responses.pop(422, None)
            self.response_fields.pop(422, None)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        # `idempotency_key` only documents the header (the middleware reads it): the
        # handler is built without it, so no request pays for parsing it again.
        documented = self.dependant
        self.dependant = replace(
            documented,
            dependencies=[d for d in documented.dependencies if d.call is not idempotency_key],
        )
        try:
            handler = super().get_route_handler()
        finally:
            self.dependant = documented
        if self.status_code != 201:
            return handler

        async def with_location(request: Request) -> Response:
            response = await handler(request)
            if response.status_code == 201 and "location" not in response.headers:
                location = _location(request, bytes(getattr(response, "body", b"")))
                if location is not None:
                    response.headers["Location"] = location
            return response

        return with_location


def conflict_responses(description: str) -> dict[int | str, dict[str, Any]]:
    """A 409 whose problem may name the resource holding a unique value (`existing_id`)."""
    return {409: {"model": ConflictProblem, "description": description}}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _problem_media_types(schema: dict[str, Any]) -> None:
    """Problem bodies are `application/problem+json`, not the routes' `application/json`."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                content = response.get("content") or {}
                refs = _refs(content.get("application/json"))
                if refs and all(ref.endswith("Problem") for ref in refs):
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")


def _rewrite_refs(node: Any, renamed: dict[str, str]) -> None:
    """Point every `$ref` (and discriminator mapping) at the renamed components."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                node[key] = renamed.get(value, value)
            else:
                _rewrite_refs(value, renamed)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, renamed)


def _generic_names(schema: dict[str, Any]) -> None:
    """`Page[CandidateRead]` is keyed `Page_CandidateRead_`; key it by its title
    (`CandidatePage`, see `Page.model_parametrized_name`), which clients turn into a class."""
    components: dict[str, Any] = schema.get("components", {}).get("schemas", {})
    renamed: dict[str, str] = {}
    for key, component in list(components.items()):
        title = component.get("title")
        generic = key.endswith("_") and isinstance(title, str) and title.isidentifier()
        if generic and title not in components:
            components[title] = components.pop(key)
            renamed[f"{REF_PREFIX}{key}"] = f"{REF_PREFIX}{title}"
    _rewrite_refs(schema, renamed)


def _webhook_answers(schema: dict[str, Any]) -> None:
    """A webhook operation documents what the subscriber receives and that any 2xx
    acknowledges it; FastAPI's generated 200 body and 422 do not apply to a receiver."""
    for item in schema.get("webhooks", {}).values():
        for operation in item.values():
            operation["responses"] = {
                "200": {"description": "Any 2xx within 10 s acknowledges the delivery."}
            }
            # Not an API key: the receiver checks the Standard Webhooks signature.
            operation["security"] = []
    text = json.dumps({key: value for key, value in schema.items() if key != "components"})
    schemas = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in schemas and f"{REF_PREFIX}{unused}" not in text + json.dumps(
            {name: body for name, body in schemas.items() if name != unused}
        ):
            del schemas[unused]


def install_openapi(app: FastAPI) -> None:
    """Serve FastAPI's document with problem media types and generic names corrected."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            _problem_media_types(schema)
            _generic_names(schema)
            _webhook_answers(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
