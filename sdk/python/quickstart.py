"""The README quick start, through a Python client generated from openapi/openapi.json.

`make sdk-python` generates the `followup_client` package with openapi-python-client,
type-checks this script against it (mypy --strict) and runs it against a live server.
To run it yourself: set FOLLOWUP_BASE_URL and FOLLOWUP_ADMIN_TOKEN, and put the generated
package on PYTHONPATH.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from followup_client import AuthenticatedClient
from followup_client.api.admin import create_account
from followup_client.api.candidates import create_candidate, list_candidates
from followup_client.api.contact_attempts import (
    evaluate_contact_attempt,
    record_contact_attempt,
)
from followup_client.api.contacts import create_contact
from followup_client.api.follow_up_windows import list_interview_windows
from followup_client.api.interviews import create_interview
from followup_client.api.webhooks import create_webhook_endpoint
from followup_client.models import (
    AccountCreate,
    AccountCreated,
    AttemptCreate,
    AttemptRead,
    CandidateCreate,
    CandidatePage,
    CandidateRead,
    Channel,
    ContactCreate,
    ContactRead,
    ContactRole,
    EvaluationRead,
    InterviewCreate,
    InterviewRead,
    Platform,
    PolicyViolationProblem,
    Purpose,
    Severity,
    Verdict,
    WebhookEndpointCreate,
    WebhookEndpointWithSecret,
    WindowPage,
)
from followup_client.types import Response

T = TypeVar("T")


def expect(response: Response[Any], status: int, kind: type[T]) -> T:
    """The parsed body, checked to be `kind` with HTTP `status`."""
    parsed = response.parsed
    assert response.status_code == status, (response.status_code, response.content)
    assert isinstance(parsed, kind), parsed
    return parsed


def step(text: str) -> None:
    print(f"- {text}")


def main() -> None:
    base_url = os.environ["FOLLOWUP_BASE_URL"]
    admin = AuthenticatedClient(base_url=base_url, token=os.environ["FOLLOWUP_ADMIN_TOKEN"])

    # 1. An operator creates an account; its first API key is shown only once.
    account = expect(
        create_account.sync_detailed(client=admin, body=AccountCreate(name="Acme Careers")),
        201,
        AccountCreated,
    )
    api = AuthenticatedClient(base_url=base_url, token=account.api_key)
    step(f"account {account.account_id}")

    # 2. A candidate; the 201 says where it lives.
    created = create_candidate.sync_detailed(
        client=api,
        body=CandidateCreate(
            name="Jordan Smith", email="jordan@example.com", timezone="Europe/London"
        ),
    )
    candidate = expect(created, 201, CandidateRead)
    assert created.headers["location"] == f"/v1/candidates/{candidate.id}"
    step(f"candidate {candidate.id} at {created.headers['location']}")

    # 3. An interview that ended two days ago, and the recruiter who ran it.
    starts_at = datetime.now(UTC) - timedelta(days=2)
    interview = expect(
        create_interview.sync_detailed(
            client=api,
            body=InterviewCreate(
                candidate_id=candidate.id,
                company="Northwind Traders",
                role_title="Data Analyst",
                starts_at=starts_at,
            ),
        ),
        201,
        InterviewRead,
    )
    recruiter = expect(
        create_contact.sync_detailed(
            interview.id,
            client=api,
            body=ContactCreate(name="Catherine Diaz", role=ContactRole.RECRUITER),
        ),
        201,
        ContactRead,
    )
    step(f"interview {interview.id} with {len(interview.windows)} windows")

    # 4. Is a LinkedIn connection request to the recruiter a good idea? Ask first.
    connect = AttemptCreate(
        channel=Channel.SOCIAL_CONNECTION, platform=Platform.LINKEDIN, contact_id=recruiter.id
    )
    evaluation = expect(
        evaluate_contact_attempt.sync_detailed(interview.id, client=api, body=connect),
        200,
        EvaluationRead,
    )
    assert evaluation.verdict is Verdict.REJECTED
    step(f"evaluate a LinkedIn request: {evaluation.verdict}")

    # 5. Record the thank-you email, safe to retry with an Idempotency-Key.
    thank_you = AttemptCreate(
        channel=Channel.EMAIL,
        contact_id=recruiter.id,
        purpose=Purpose.THANK_YOU,
        subject="Thank you",
        body="Dear Catherine,\n\nThank you for your time yesterday. I enjoyed learning about "
        "the team.\n\nBest regards,\nJordan",
    )
    first = record_contact_attempt.sync_detailed(
        interview.id, client=api, body=thank_you, idempotency_key="thank-you-jordan"
    )
    again = record_contact_attempt.sync_detailed(
        interview.id, client=api, body=thank_you, idempotency_key="thank-you-jordan"
    )
    recorded = expect(first, 201, AttemptRead)
    assert expect(again, 201, AttemptRead).id == recorded.id
    assert again.headers["idempotent-replayed"] == "true"
    step(f"thank-you email {recorded.id}: {recorded.verdict}, replayed once")

    # 6. Recording the connection request anyway is refused; the findings say why.
    refused = expect(
        record_contact_attempt.sync_detailed(interview.id, client=api, body=connect),
        422,
        PolicyViolationProblem,
    )
    blocking = [f for f in refused.findings if f.severity is Severity.BLOCK]
    assert [f.rule for f in blocking] == ["no-social-connection"]
    step(f"refused by {blocking[0].rule}: {blocking[0].advice}")

    # 7. The interview's follow-up windows.
    windows = expect(
        list_interview_windows.sync_detailed(interview.id, client=api), 200, WindowPage
    )
    assert {w.kind for w in windows.data} == {"thank_you", "check_in", "brief_referees"}
    step("windows: " + ", ".join(f"{w.kind} {w.state}" for w in windows.data))

    # 8. A webhook endpoint (a local URL: the server runs with private URLs allowed).
    endpoint = expect(
        create_webhook_endpoint.sync_detailed(
            client=api, body=WebhookEndpointCreate(url="http://127.0.0.1:9/followup")
        ),
        201,
        WebhookEndpointWithSecret,
    )
    assert endpoint.secret.startswith("whsec_")
    step(f"webhook endpoint {endpoint.id}, secret shown once")

    # 9. Sync: what was created since the candidate.
    since = expect(
        list_candidates.sync_detailed(client=api, created_after=candidate.created_at),
        200,
        CandidatePage,
    )
    assert since.data == []
    step("nothing created since the candidate")
    print("quick start passed")


if __name__ == "__main__":
    main()
