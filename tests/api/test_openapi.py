"""The OpenAPI document as integrators consume it: names, tags, security, problems, examples."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from app.api.openapi import ApiRoute
from app.main import create_app
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("get", "put", "post", "delete", "patch")

PUBLISHED_OPERATION_IDS = {
    "create_account",
    "read_account",
    "create_api_key",
    "list_api_keys",
    "revoke_api_key",
    "create_candidate",
    "list_candidates",
    "read_candidate",
    "update_candidate",
    "delete_candidate",
    "create_interview",
    "list_interviews",
    "read_interview",
    "update_interview",
    "delete_interview",
    "create_contact",
    "list_contacts",
    "read_contact",
    "update_contact",
    "delete_contact",
    "record_contact_attempt",
    "evaluate_contact_attempt",
    "list_contact_attempts",
    "read_contact_attempt",
    "delete_contact_attempt",
    "list_interview_windows",
    "list_followup_windows",
    "read_policy",
    "replace_policy",
    "list_events",
    "read_event",
    "redeliver_event",
    "create_webhook_endpoint",
    "list_webhook_endpoints",
    "read_webhook_endpoint",
    "update_webhook_endpoint",
    "delete_webhook_endpoint",
    "rotate_webhook_secret",
    "send_webhook_test",
    "list_webhook_deliveries",
    "read_webhook_delivery",
    "read_health",
    "read_readiness",
    "read_metrics",
}
"""Generated clients name their functions after these: renaming one breaks integrators."""


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    app = create_app(Settings(_env_file=None, database_url="sqlite+aiosqlite:///:memory:"))  # type: ignore[call-arg]
    return app.openapi()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_the_committed_document_is_the_served_one(document: dict[str, Any]) -> None:
    committed = json.loads((ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8"))
    assert committed == document


def test_operation_ids_are_the_published_readable_names(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    assert set(ids) >= PUBLISHED_OPERATION_IDS
    for operation_id in ids:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", operation_id), operation_id
        assert "_v1_" not in f"_{operation_id}_"
        words = operation_id.split("_")
        assert sum(word in METHODS for word in words) <= 1, operation_id


def test_component_names_are_plain_class_names(document: dict[str, Any]) -> None:
    for name in document["components"]["schemas"]:
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", name), name
        assert not re.search(r"(Get|Post|Put|Patch|Delete)Response|V1", name), name


def test_every_operation_has_a_summary_a_description_and_declared_tags(
    document: dict[str, Any],
) -> None:
    declared = {tag["name"]: tag for tag in document["tags"]}
    assert all(tag.get("description") for tag in declared.values())
    for path, method, operation in operations(document):
        assert operation.get("summary"), (method, path)
        assert operation.get("description"), (method, path)
        assert operation["tags"] and set(operation["tags"]) <= set(declared), (method, path)


def test_servers_are_declared(document: dict[str, Any]) -> None:
    assert document["servers"] and all(server["url"] for server in document["servers"])


def test_security_is_explicit_on_every_operation(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["ApiKey"]["description"],
    }
    assert schemes["AdminToken"]["scheme"] == "bearer"
    for path, method, operation in operations(document):
        if path.startswith("/v1/"):
            assert operation["security"] == [{"ApiKey": []}], (method, path)
        elif path.startswith("/admin/"):
            assert operation["security"] == [{"AdminToken": []}], (method, path)
        else:
            assert operation["security"] == [], (method, path)


def test_every_post_declares_the_idempotency_key_header(document: dict[str, Any]) -> None:
    posts = [(path, op) for path, method, op in operations(document) if method == "post"]
    assert posts
    for path, operation in posts:
        headers = [p for p in operation["parameters"] if p["in"] == "header"]
        assert [h["name"] for h in headers] == ["Idempotency-Key"], path
        assert headers[0]["required"] is False
        assert headers[0]["schema"]["maxLength"] == 255
        success = next(code for code in operation["responses"] if code.startswith("2"))
        assert "Idempotent-Replayed" in operation["responses"][success]["headers"]
        assert "409" in operation["responses"], path


def test_every_201_documents_its_location(document: dict[str, Any]) -> None:
    created = [op for _, _, op in operations(document) if "201" in op["responses"]]
    assert len(created) >= 7
    for operation in created:
        assert "Location" in operation["responses"]["201"]["headers"]


def _problem_schema_names(response: dict[str, Any]) -> set[str]:
    assert set(response["content"]) == {"application/problem+json"}
    schema = response["content"]["application/problem+json"]["schema"]
    refs = [schema] if "$ref" in schema else schema["oneOf"]
    return {ref["$ref"].rsplit("/", 1)[1] for ref in refs}


def test_errors_are_documented_as_problems(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        responses = operation["responses"]
        expected = set()
        if path.startswith("/v1/"):
            expected |= {"401", "429", "503"}
        if "{" in path or path.startswith("/admin/"):
            expected.add("404")
        if method in ("post", "put", "patch"):
            expected |= {"413", "422"}
        if method == "post":
            expected.add("409")
        assert expected <= set(responses), (method, path, expected - set(responses))
        for status, response in responses.items():
            if status.startswith("4") or (status == "503" and path != "/readyz"):
                names = _problem_schema_names(response)
                assert all(name.endswith("Problem") for name in names), (method, path)
                assert response["description"].startswith("`"), (method, path, status)


def test_recording_an_attempt_types_its_422_with_findings(document: dict[str, Any]) -> None:
    operation = document["paths"]["/v1/interviews/{interview_id}/contact-attempts"]["post"]
    response = operation["responses"]["422"]
    assert _problem_schema_names(response) == {
        "PolicyViolationProblem",
        "ValidationProblem",
        "IdempotencyKeyReuseProblem",
    }
    mapping = response["content"]["application/problem+json"]["schema"]["discriminator"]
    assert mapping["propertyName"] == "type"
    assert set(mapping["mapping"]) == {
        "/problems/policy-violation",
        "/problems/validation-error",
        "/problems/idempotency-key-reuse",
    }
    schemas = document["components"]["schemas"]
    violation = schemas["PolicyViolationProblem"]
    assert {"type", "title", "status", "detail", "findings"} <= set(violation["required"])
    assert violation["properties"]["findings"]["items"] == {
        "$ref": "#/components/schemas/FindingRead"
    }
    assert violation["properties"]["type"]["const"] == "/problems/policy-violation"
    assert set(schemas["FindingRead"]["required"]) >= {"rule", "severity", "message", "advice"}


def test_a_duplicate_external_id_conflict_documents_existing_id(document: dict[str, Any]) -> None:
    for method in ("post", "patch"):
        path = "/v1/candidates" if method == "post" else "/v1/candidates/{candidate_id}"
        response = document["paths"][path][method]["responses"]["409"]
        assert _problem_schema_names(response) == {"ConflictProblem"}
    conflict = document["components"]["schemas"]["ConflictProblem"]
    assert "existing_id" in conflict["properties"]


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_date_bounds_use_no_nonstandard_keywords(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    assert "formatMinimum" not in text and "formatMaximum" not in text
    starts_at = document["components"]["schemas"]["InterviewCreate"]["properties"]["starts_at"]
    assert starts_at["format"] == "date-time"
    assert "1970-01-01T00:00:00Z" in starts_at["description"]
    assert "2100-01-01T00:00:00Z" in starts_at["description"]


async def test_the_date_bounds_are_still_enforced(api: httpx.AsyncClient) -> None:
    candidate = (await api.post("/v1/candidates", json={"name": "Jordan"})).json()
    body = {"candidate_id": candidate["id"], "company": "N", "role_title": "R"}
    late = await api.post("/v1/interviews", json={**body, "starts_at": "2100-01-01T00:00:01Z"})
    early = await api.post("/v1/interviews", json={**body, "starts_at": "1969-12-31T23:59:59Z"})
    assert late.status_code == early.status_code == 422
    assert late.json()["type"] == "/problems/validation-error"


def test_every_request_body_has_an_example(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for path, method, operation in operations(document):
        if "requestBody" not in operation:
            continue
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        ref = schema["$ref"] if "$ref" in schema else schema["anyOf"][0]["$ref"]
        component = schemas[ref.rsplit("/", 1)[1]]
        assert component.get("examples"), (method, path)


def test_every_route_is_built_by_the_documenting_route_class() -> None:
    app = create_app(Settings(_env_file=None, database_url="sqlite+aiosqlite:///:memory:"))  # type: ignore[call-arg]
    routes = [route for route in _api_routes(app) if route.include_in_schema]
    assert len(routes) >= len(PUBLISHED_OPERATION_IDS)
    for route in routes:
        assert isinstance(route, ApiRoute), route.path


def _api_routes(app: FastAPI) -> list[APIRoute]:
    found: list[APIRoute] = []

    def visit(routes: list[Any]) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                found.append(route)
            original = getattr(route, "original_router", None)
            if original is not None:
                visit(original.routes)

    visit(list(app.router.routes))
    return found


async def test_a_refused_attempt_matches_its_documented_problem(
    api: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    from app.schemas.problem import PolicyViolationProblem

    candidate = (await api.post("/v1/candidates", json={"name": "Jordan"})).json()
    interview = (
        await api.post(
            "/v1/interviews",
            json={
                "candidate_id": candidate["id"],
                "company": "Northwind",
                "role_title": "Analyst",
                "starts_at": "2026-11-02T10:00:00Z",
            },
        )
    ).json()
    refused = await api.post(
        f"/v1/interviews/{interview['id']}/contact-attempts",
        json={
            "channel": "social_connection",
            "platform": "linkedin",
            "occurred_at": "2026-11-03T10:00:00Z",
        },
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    problem = PolicyViolationProblem.model_validate(body)
    assert problem.findings and problem.findings[0].rule == "no-social-connection"
    required = document["components"]["schemas"]["FindingRead"]["required"]
    for finding in body["findings"]:
        assert set(required) <= set(finding)


def test_sync_bounds_are_documented_on_the_lists_clients_sync(document: dict[str, Any]) -> None:
    def query(path: str) -> set[str]:
        parameters = document["paths"][path]["get"]["parameters"]
        return {p["name"] for p in parameters if p["in"] == "query"}

    bounds = {"created_after", "created_before", "updated_after"}
    for path in (
        "/v1/candidates",
        "/v1/interviews",
        "/v1/interviews/{interview_id}/contact-attempts",
    ):
        assert bounds <= query(path), path
    assert query("/v1/events") & bounds == {"created_after", "created_before"}
