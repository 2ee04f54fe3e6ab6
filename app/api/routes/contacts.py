from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import InterviewDep, PageDep, ResourceId, SessionDep
from app.api.schemas.common import Page
from app.api.schemas.contacts import ContactCreate, ContactRead, ContactUpdate
from app.api.schemas.problem import AUTHED
from app.services import contacts as service
from app.services.views import contact_view

router = APIRouter(
    prefix="/v1/interviews/{interview_id}/contacts", tags=["contacts"], responses=AUTHED
)


@router.post("", status_code=201)
async def create_contact(
    body: ContactCreate, session: SessionDep, interview: InterviewDep
) -> ContactRead:
    return ContactRead.model_validate(
        contact_view(await service.create_contact(session, interview, body.model_dump()))
    )


@router.get("")
async def list_contacts(
    session: SessionDep, interview: InterviewDep, page: PageDep
) -> Page[ContactRead]:
    rows, cursor = await service.list_contacts(session, interview, page)
    return Page(
        data=[ContactRead.model_validate(contact_view(row)) for row in rows], next_cursor=cursor
    )


@router.get("/{contact_id}")
async def read_contact(
    contact_id: ResourceId, session: SessionDep, interview: InterviewDep
) -> ContactRead:
    return ContactRead.model_validate(
        contact_view(await service.get_contact(session, interview, contact_id))
    )


@router.patch("/{contact_id}")
async def update_contact(
    contact_id: ResourceId, body: ContactUpdate, session: SessionDep, interview: InterviewDep
) -> ContactRead:
    contact = await service.update_contact(
        session, interview, contact_id, body.model_dump(exclude_unset=True)
    )
    return ContactRead.model_validate(contact_view(contact))


@router.delete("/{contact_id}", status_code=204)
async def delete_contact(
    contact_id: ResourceId, session: SessionDep, interview: InterviewDep
) -> Response:
    await service.delete_contact(session, interview, contact_id)
    return Response(status_code=204)
