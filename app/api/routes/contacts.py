from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import InterviewDep, PageDep, ResourceId, SessionDep
from app.schemas.common import Page
from app.schemas.contacts import ContactCreate, ContactRead, ContactUpdate
from app.schemas.problem import AUTHED
from app.services import contacts as service

router = APIRouter(
    prefix="/v1/interviews/{interview_id}/contacts", tags=["contacts"], responses=AUTHED
)


@router.post("", status_code=201)
async def create_contact(
    body: ContactCreate, session: SessionDep, interview: InterviewDep
) -> ContactRead:
    return ContactRead.model_validate(await service.create_contact(session, interview, body))


@router.get("")
async def list_contacts(
    session: SessionDep, interview: InterviewDep, page: PageDep
) -> Page[ContactRead]:
    rows, cursor = await service.list_contacts(session, interview, page)
    return Page(data=[ContactRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.get("/{contact_id}")
async def read_contact(
    contact_id: ResourceId, session: SessionDep, interview: InterviewDep
) -> ContactRead:
    return ContactRead.model_validate(await service.get_contact(session, interview, contact_id))


@router.patch("/{contact_id}")
async def update_contact(
    contact_id: ResourceId, body: ContactUpdate, session: SessionDep, interview: InterviewDep
) -> ContactRead:
    contact = await service.update_contact(session, interview, contact_id, body)
    return ContactRead.model_validate(contact)


@router.delete("/{contact_id}", status_code=204)
async def delete_contact(
    contact_id: ResourceId, session: SessionDep, interview: InterviewDep
) -> Response:
    await service.delete_contact(session, interview, contact_id)
    return Response(status_code=204)
