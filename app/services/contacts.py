"""Contacts: the people at the employer, and the candidate's referees, for one interview."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Contact, Interview
from app.errors import NotFoundError
from app.schemas.contacts import ContactCreate, ContactUpdate
from app.services.pagination import PageRequest, paginate


async def get_contact(session: AsyncSession, interview: Interview, contact_id: str) -> Contact:
    contact = await session.scalar(
        select(Contact).where(Contact.id == contact_id, Contact.interview_id == interview.id)
    )
    if contact is None:
        raise NotFoundError("No such contact for this interview.")
    return contact


async def create_contact(
    session: AsyncSession, interview: Interview, fields: ContactCreate
) -> Contact:
    contact = Contact(
        account_id=interview.account_id, interview_id=interview.id, **fields.model_dump()
    )
    session.add(contact)
    await session.flush()
    return contact


async def update_contact(
    session: AsyncSession, interview: Interview, contact_id: str, patch: ContactUpdate
) -> Contact:
    contact = await get_contact(session, interview, contact_id)
    for name, value in patch.model_dump(exclude_unset=True).items():
        setattr(contact, name, value)
    await session.flush()
    return contact


async def delete_contact(session: AsyncSession, interview: Interview, contact_id: str) -> None:
    contact = await get_contact(session, interview, contact_id)
    await session.delete(contact)
    await session.flush()


async def list_contacts(
    session: AsyncSession, interview: Interview, page: PageRequest
) -> tuple[list[Contact], str | None]:
    stmt = select(Contact).where(Contact.interview_id == interview.id)
    return await paginate(session, stmt, page, sort=Contact.created_at, tiebreak=Contact.id)
