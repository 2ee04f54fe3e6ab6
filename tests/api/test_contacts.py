from __future__ import annotations

import httpx
import pytest

from tests.api.factories import create_contact, create_interview
from tests.api.test_accounts import assert_problem


async def test_contact_crud(api: httpx.AsyncClient) -> None:
    interview = await create_interview(api)
    base = f"/v1/interviews/{interview['id']}/contacts"
    contact = await create_contact(api, interview["id"], timezone="Asia/Tokyo", email="m@x.io")
    assert contact["interview_id"] == interview["id"]
    assert (await api.get(f"{base}/{contact['id']}")).json() == contact
    patched = await api.patch(f"{base}/{contact['id']}", json={"role": "referee"})
    assert patched.json()["role"] == "referee"
    listed = (await api.get(base)).json()
    assert [item["id"] for item in listed["data"]] == [contact["id"]]
    assert (await api.delete(f"{base}/{contact['id']}")).status_code == 204
    assert_problem(await api.get(f"{base}/{contact['id']}"), 404, "not-found")


async def test_contact_of_another_interview_is_404(api: httpx.AsyncClient) -> None:
    one = await create_interview(api)
    two = await create_interview(api)
    contact = await create_contact(api, one["id"])
    response = await api.get(f"/v1/interviews/{two['id']}/contacts/{contact['id']}")
    assert_problem(response, 404, "not-found")


@pytest.mark.parametrize(
    "body",
    [
        {"name": "X", "role": "ceo"},
        {"name": "X"},
        {"name": "X", "role": "recruiter", "timezone": "Nowhere/Land"},
        {"name": "X", "role": "recruiter", "email": "not-an-email"},
    ],
)
async def test_invalid_contact_is_422(api: httpx.AsyncClient, body: dict[str, object]) -> None:
    interview = await create_interview(api)
    response = await api.post(f"/v1/interviews/{interview['id']}/contacts", json=body)
    assert_problem(response, 422, "validation-error")
