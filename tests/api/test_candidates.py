from __future__ import annotations

import httpx
import pytest

from tests.api.factories import create_candidate
from tests.api.test_accounts import assert_problem
from tests.conftest import NewAccount


async def test_candidate_crud_round_trip(api: httpx.AsyncClient) -> None:
    created = await create_candidate(api, email="jordan@example.com", external_id="ats-1")
    assert created["timezone"] == "Europe/London"
    assert created["created_at"].endswith("Z")

    fetched = await api.get(f"/v1/candidates/{created['id']}")
    assert fetched.json() == created

    patched = await api.patch(f"/v1/candidates/{created['id']}", json={"phone": "+44 20 7946 0000"})
    assert patched.status_code == 200
    assert patched.json()["phone"] == "+44 20 7946 0000"
    assert patched.json()["email"] == "jordan@example.com"

    assert (await api.delete(f"/v1/candidates/{created['id']}")).status_code == 204
    assert_problem(await api.get(f"/v1/candidates/{created['id']}"), 404, "not-found")


async def test_timezone_defaults_to_utc(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/candidates", json={"name": "Sam"})
    assert response.status_code == 201
    assert response.json()["timezone"] == "UTC"


async def test_duplicate_external_id_is_conflict(api: httpx.AsyncClient) -> None:
    first = await create_candidate(api, external_id="ats-7")
    assert_problem(
        await api.post("/v1/candidates", json={"name": "B", "external_id": "ats-7"}),
        409,
        "conflict",
    )
    other = await create_candidate(api, external_id="ats-8")
    clash = await api.patch(f"/v1/candidates/{other['id']}", json={"external_id": "ats-7"})
    assert_problem(clash, 409, "conflict")
    same = await api.patch(f"/v1/candidates/{first['id']}", json={"external_id": "ats-7"})
    assert same.status_code == 200


async def test_external_id_is_unique_per_account_only(new_account: NewAccount) -> None:
    alice = await new_account("Alice")
    bob = await new_account("Bob")
    await create_candidate(alice, external_id="shared")
    await create_candidate(bob, external_id="shared")


async def test_filter_by_external_id(api: httpx.AsyncClient) -> None:
    wanted = await create_candidate(api, external_id="x-1")
    await create_candidate(api, external_id="x-2")
    listed = (await api.get("/v1/candidates", params={"external_id": "x-1"})).json()
    assert [item["id"] for item in listed["data"]] == [wanted["id"]]
    assert listed["next_cursor"] is None


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": "A", "timezone": "Mars/Olympus"}, ["body", "timezone"]),
        ({"name": "A", "timezone": "../../etc/passwd"}, ["body", "timezone"]),
        ({"name": ""}, ["body", "name"]),
        ({"name": "x" * 201}, ["body", "name"]),
        ({"name": "A", "nickname": "B"}, ["body", "nickname"]),
        ({}, ["body", "name"]),
    ],
)
async def test_invalid_candidate_input_is_422_with_errors(
    api: httpx.AsyncClient, body: dict[str, object], loc: list[str]
) -> None:
    problem = assert_problem(await api.post("/v1/candidates", json=body), 422, "validation-error")
    errors = problem["errors"]
    assert isinstance(errors, list)
    assert loc in [error["loc"] for error in errors]
    assert all(isinstance(error["msg"], str) for error in errors)


async def test_patch_cannot_null_a_required_field(api: httpx.AsyncClient) -> None:
    created = await create_candidate(api)
    response = await api.patch(f"/v1/candidates/{created['id']}", json={"name": None})
    assert_problem(response, 422, "validation-error")
    assert (await api.get(f"/v1/candidates/{created['id']}")).json()["name"] == created["name"]


async def test_malformed_json_is_422_problem(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/candidates", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(response, 422, "validation-error")


async def test_other_accounts_candidate_is_indistinguishable_from_missing(
    new_account: NewAccount,
) -> None:
    alice = await new_account("Alice")
    bob = await new_account("Bob")
    secret = await create_candidate(alice, name="Alice's candidate")
    for response in (
        await bob.get(f"/v1/candidates/{secret['id']}"),
        await bob.patch(f"/v1/candidates/{secret['id']}", json={"name": "stolen"}),
        await bob.delete(f"/v1/candidates/{secret['id']}"),
        await bob.get("/v1/candidates/cand_doesnotexist"),
    ):
        assert_problem(response, 404, "not-found")
    assert (await bob.get("/v1/candidates")).json()["data"] == []
    assert (await alice.get(f"/v1/candidates/{secret['id']}")).json()["name"] == "Alice's candidate"


async def test_overlong_path_id_is_422_not_a_server_error(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/candidates/" + "x" * 65)
    assert_problem(response, 422, "validation-error")


async def test_duplicate_external_id_names_the_candidate_holding_it(
    api: httpx.AsyncClient,
) -> None:
    holder = await create_candidate(api, external_id="ats-9")
    created = assert_problem(
        await api.post("/v1/candidates", json={"name": "B", "external_id": "ats-9"}),
        409,
        "conflict",
    )
    assert created["existing_id"] == holder["id"]
    other = await create_candidate(api, external_id="ats-10")
    clash = await api.patch(f"/v1/candidates/{other['id']}", json={"external_id": "ats-9"})
    assert assert_problem(clash, 409, "conflict")["existing_id"] == holder["id"]


async def test_a_lost_race_on_external_id_still_names_the_holder(
    api: httpx.AsyncClient, app: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.errors import DuplicateExternalIdError
    from app.schemas.candidates import CandidateCreate
    from app.services import candidates as service

    holder = await create_candidate(api, external_id="ats-race")
    account_id = (await api.get("/v1/account")).json()["id"]

    async def check_passes(*_args: object, **_kwargs: object) -> None:
        """The other request inserted its row after this one checked."""

    monkeypatch.setattr(service, "_ensure_external_id_free", check_passes)
    factory = app.state.sessionmaker  # type: ignore[attr-defined]
    async with factory() as session, session.begin():
        with pytest.raises(DuplicateExternalIdError) as raised:
            await service.create_candidate(
                session, account_id, CandidateCreate(name="B", external_id="ats-race")
            )
    assert raised.value.existing_id == holder["id"]


async def test_a_lost_race_on_an_updated_external_id_names_the_holder(
    api: httpx.AsyncClient, app: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.errors import DuplicateExternalIdError
    from app.schemas.candidates import CandidateUpdate
    from app.services import candidates as service

    holder = await create_candidate(api, external_id="ats-race-2")
    mover = await create_candidate(api, external_id="ats-other")
    account_id = (await api.get("/v1/account")).json()["id"]

    async def check_passes(*_args: object, **_kwargs: object) -> None:
        """The other request took the value after this one checked."""

    monkeypatch.setattr(service, "_ensure_external_id_free", check_passes)
    factory = app.state.sessionmaker  # type: ignore[attr-defined]
    async with factory() as session, session.begin():
        with pytest.raises(DuplicateExternalIdError) as raised:
            await service.update_candidate(
                session, account_id, mover["id"], CandidateUpdate(external_id="ats-race-2")
            )
    assert raised.value.existing_id == holder["id"]
