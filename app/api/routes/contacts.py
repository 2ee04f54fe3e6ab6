"""The people of an interview: employer contacts and the candidate's referees."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import InterviewDep, PageDep, ResourceId, SessionDep
from app.api.openapi import ApiRoute
from app.schemas.common import Page
from app.schemas.contacts import ContactCreate, ContactRead, ContactUpdate
from app.services import contacts as service

router = APIRouter(
    prefix="/v1/interviews/{interview_id}/contacts", tags=["contacts"], route_class=ApiRoute
)


@router.post("", status_code=201, summary="Add a contact to an interview")
async def create_contact(
    body: ContactCreate, session: SessionDep, interview: InterviewDep
) -> ContactRead:
    """A recruiter, hiring manager, interviewer or referee. Quiet hours use the contact's
    `timezone`, else the interview's."""
    return ContactRead.model_validate(await service.create_contact(session, interview, body))


@router.get("", summary="List an interview's contacts")
async def list_contacts(
    session: SessionDep, interview: InterviewDep, page: PageDep
) -> Page[ContactRead]:
    """The interview's contacts, newest first."""
    rows, cursor = await service.list_contacts(session, interview, page)
    return Page(data=[ContactRead.model_validate(row) for row in rows], next_cursor=cursor)


@router.get("/{contact_id}", summary="Get a contact")
async def read_contact(
    contact_id: ResourceId, session: SessionDep, interview: InterviewDep
) -> ContactRead:
    """One contact of the interview."""
    return ContactRead.model_validate(await service.get_contact(session, interview, contact_id))


@router.patch("/{contact_id}", summary="Update a contact")
async def update_contact(
    contact_id: ResourceId, body: ContactUpdate, session: SessionDep, interview: InterviewDep
) -> ContactRead:
    """Change the fields sent; `name` and `role` cannot be null."""
    contact = await service.update_contact(session, interview, contact_id, body)
    return ContactRead.model_validate(contact)


@router.delete("/{contact_id}", status_code=204, summary="Delete a contact")
async def delete_contact(
    contact_id: ResourceId, session: SessionDep, interview: InterviewDep
) -> Response:
    """Delete a contact. Their attempts stay, with `contact_id: null`."""
    await service.delete_contact(session, interview, contact_id)
    return Response(status_code=204)
