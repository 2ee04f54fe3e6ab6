"""Interviews: creation with defaults and windows, updates that track decisions, events."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from pydantic_core import to_json
from sqlalchemy import (
    Select,
    String,
    Subquery,
    Table,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import format_utc
from app.db.models import Account, Candidate, FollowupWindow, Interview
from app.db.sql import folded_page, json_document
from app.enums import Decision, EventType
from app.errors import InputError, NotFoundError
from app.schemas.events import InterviewEventData
from app.schemas.interviews import InterviewCreate, InterviewRead, InterviewUpdate
from app.services import windows as window_service
from app.services.accounts import CALLER_ACCOUNT, Credential, account_id_of, folded_page_of
from app.services.events import record_event
from app.services.pagination import EncodedPage, PageRequest, keyset, keyset_query, page_of
from app.services.policy_settings import policy_settings
from app.services.windows import KIND_ORDER, WINDOW_COLUMNS, WINDOW_FIELDS, window_order

DEFAULT_DURATION = timedelta(hours=1)
SCHEDULE_FIELDS = frozenset({"ends_at", "decision_expected_at"})
DECIDED_AT_TOLERANCE = timedelta(minutes=5)


async def get_interview(session: AsyncSession, account_id: str, interview_id: str) -> Interview:
    interview = await session.scalar(
        select(Interview).where(Interview.id == interview_id, Interview.account_id == account_id)
    )
    if interview is None:
        raise NotFoundError("No such interview.")
    return interview


def _check_times(interview: Interview) -> None:
    if interview.ends_at < interview.starts_at:
        raise InputError("ends_at must not be before starts_at.", ["body", "ends_at"])


def _check_decided_at(interview: Interview, decided_at: datetime, now: datetime) -> None:
    """A back-dated decision (contract section 4): after the interview began, not ahead."""
    if decided_at > now + DECIDED_AT_TOLERANCE:
        raise InputError("decided_at is more than 5 minutes in the future.", ["body", "decided_at"])
    if decided_at < interview.starts_at:
        raise InputError(
            f"decided_at must not be before the interview's starts_at "
            f"({format_utc(interview.starts_at)}).",
            ["body", "decided_at"],
        )


async def _emit(
    session: AsyncSession, interview: Interview, event_type: EventType, now: datetime
) -> InterviewRead:
    """Record the event; its payload is the interview as `GET` shows it, returned too."""
    read = await window_service.interview_read(session, interview)
    data = InterviewEventData(interview=read)
    await record_event(session, interview.account_id, event_type, data, now)
    return read


async def create_interview(
    session: AsyncSession, account: Account, fields: InterviewCreate, now: datetime
) -> InterviewRead:
    values = fields.model_dump()
    candidate = await session.scalar(
        select(Candidate).where(
            Candidate.id == values["candidate_id"], Candidate.account_id == account.id
        )
    )
    if candidate is None:
        raise InputError("No such candidate in this account.", ["body", "candidate_id"])
    if values.get("ends_at") is None:
        values["ends_at"] = values["starts_at"] + DEFAULT_DURATION
    if values.get("timezone") is None:
        values["timezone"] = candidate.timezone
    interview = Interview(account_id=account.id, decision=Decision.PENDING.value, **values)
    _check_times(interview)
    session.add(interview)
    await session.flush()
    await window_service.create_windows(session, interview, policy_settings(account), now)
    return await _emit(session, interview, EventType.INTERVIEW_CREATED, now)


async def update_interview(
    session: AsyncSession,
    account: Account,
    interview_id: str,
    patch: InterviewUpdate,
    now: datetime,
) -> InterviewRead:
    """Apply a PATCH and emit `interview.updated` / `interview.decided` for what changed.

    Changing `decision` stamps `decided_at` (the one given with it, else `now`; cleared on
    a return to pending) and cancels windows that have not opened; moving `ends_at` or
    `decision_expected_at` reschedules them. A `decided_at` given with the decision the
    interview already has re-dates that decision (`interview.updated`).
    """
    interview = await get_interview(session, account.id, interview_id)
    changes = patch.model_dump(exclude_unset=True)
    decided_at: datetime | None = changes.pop("decided_at", None)
    changed = {
        name
        for name, value in changes.items()
        if name != "decision" and getattr(interview, name) != value
    }
    for name in changed:
        setattr(interview, name, changes[name])
    _check_times(interview)
    if decided_at is not None:
        _check_decided_at(interview, decided_at, now)
    decision: str | None = changes.get("decision")
    decided = decision is not None and decision != interview.decision
    if decision is not None and decided:
        interview.decision = decision
        interview.decided_at = None if decision == Decision.PENDING else decided_at or now
    elif decided_at is not None and decided_at != interview.decided_at:
        interview.decided_at = decided_at
        changed.add("decided_at")
    if changed or decided:
        interview.updated_at = now
    await session.flush()
    if changed & SCHEDULE_FIELDS:
        await window_service.reschedule(session, interview, policy_settings(account))
    if decided:
        await window_service.apply_decision(session, interview, now)
    if changed:
        await _emit(session, interview, EventType.INTERVIEW_UPDATED, now)
    if decided:
        await _emit(session, interview, EventType.INTERVIEW_DECIDED, now)
    return await window_service.interview_read(session, interview)


async def delete_interview(session: AsyncSession, account_id: str, interview_id: str) -> None:
    interview = await get_interview(session, account_id, interview_id)
    await session.delete(interview)
    await session.flush()


INTERVIEW_FIELDS = tuple(name for name in InterviewRead.model_fields if name != "windows")
_INTERVIEWS = cast(Table, Interview.__table__)
_WINDOWS = cast(Table, FollowupWindow.__table__)


def _paged_interviews(
    filters: tuple[bool, bool, bool], shape: tuple[bool, bool, bool, bool], by_key: bool
) -> Subquery:
    """The page's interviews (a keyset subquery, with bind parameters) of the account
    `account_id`, or with `by_key` of the caller's (`accounts.CALLER_ACCOUNT`)."""
    by_candidate, by_decision, by_external_id = filters
    account = CALLER_ACCOUNT if by_key else bindparam("account_id", type_=String())
    # Labels, not the table's columns: the subquery then copies no foreign keys.
    stmt = select(*(_INTERVIEWS.c[name].label(name) for name in INTERVIEW_FIELDS)).where(
        _INTERVIEWS.c.account_id == account
    )
    if by_candidate:
        stmt = stmt.where(_INTERVIEWS.c.candidate_id == bindparam("candidate_id", type_=String()))
    if by_decision:
        stmt = stmt.where(_INTERVIEWS.c.decision == bindparam("decision", type_=String()))
    if by_external_id:
        stmt = stmt.where(_INTERVIEWS.c.external_id == bindparam("external_id", type_=String()))
    return keyset_query(
        stmt, shape, sort=_INTERVIEWS.c.created_at, tiebreak=_INTERVIEWS.c.id
    ).subquery()


@lru_cache(maxsize=256)
def _interview_page(
    filters: tuple[bool, bool, bool], shape: tuple[bool, bool, bool, bool]
) -> Select[Any]:
    """The interview list's statement for one combination of filters and page bounds:
    the page's interviews joined to their windows, built once, so a request builds no
    statement."""
    paged = _paged_interviews(filters, shape, False)
    windows = [column.label(f"window_{column.key}") for column in WINDOW_COLUMNS]
    return (
        select(paged, *windows)
        .outerjoin(_WINDOWS, _WINDOWS.c.interview_id == paged.c.id)
        .order_by(paged.c.created_at.desc(), paged.c.id.desc())
    )


@lru_cache(maxsize=256)
def _interview_documents(
    filters: tuple[bool, bool, bool], shape: tuple[bool, bool, bool, bool], by_key: bool
) -> Select[Any]:
    """PostgreSQL: the same page with each interview written as its JSON document by the
    database (windows in opening order), and its sort key for the cursor. Reading and
    re-encoding every column of every window row in Python cost more than half of the
    request; the documents are what `_interview_page`'s rows give, byte for byte once
    parsed (`tests/api/test_shapes_and_clock.py`)."""
    paged = _paged_interviews(filters, shape, by_key)
    window = json_document((column.key, column) for column in WINDOW_COLUMNS)
    kind_order = case(
        {kind.value: order for kind, order in KIND_ORDER.items()}, value=_WINDOWS.c.kind
    )
    windows = (
        select(
            func.coalesce(
                func.json_agg(aggregate_order_by(window, _WINDOWS.c.opens_at, kind_order)),
                literal_column("'[]'::json"),
            )
        )
        .where(_WINDOWS.c.interview_id == paged.c.id)
        .scalar_subquery()
    )
    document = json_document(
        [*((name, paged.c[name]) for name in INTERVIEW_FIELDS), ("windows", windows)]
    )
    rows = select(document.label("document"), paged.c.created_at, paged.c.id)
    return folded_page(rows, descending=True).add_columns(literal("page").label("row"))


async def list_interviews(
    session: AsyncSession,
    owner: str | Credential,
    page: PageRequest,
    *,
    candidate_id: str | None = None,
    decision: Decision | None = None,
    external_id: str | None = None,
) -> EncodedPage:
    """A page of interviews of `owner` (an account id, or the caller's API key: then this
    authenticates too), each with its windows, in one query, as JSON documents of
    `InterviewRead`: no ORM object or model is built for a list. PostgreSQL writes the
    page itself, in the caller's statement when `owner` is a key; on SQLite the documents
    are encoded from the joined rows."""
    bounds = keyset(page)
    params = {
        **bounds.params,
        "candidate_id": candidate_id,
        "decision": decision.value if decision is not None else None,
        "external_id": external_id,
    }
    filters = (candidate_id is not None, decision is not None, external_id is not None)
    if session.get_bind().dialect.name == "postgresql":
        by_key = isinstance(owner, Credential)
        folded = _interview_documents(filters, bounds.shape, by_key)
        return await folded_page_of(session, owner, folded, params, page)
    params["account_id"] = await account_id_of(session, owner)
    joined = await session.execute(_interview_page(filters, bounds.shape), params)
    width = len(INTERVIEW_FIELDS)
    documents: dict[str, dict[str, Any]] = {}
    for row in joined.tuples():
        document = documents.get(row[0])
        if document is None:
            document = documents[row[0]] = dict(zip(INTERVIEW_FIELDS, row[:width], strict=True))
            document["windows"] = []
        if row[width] is not None:
            document["windows"].append(dict(zip(WINDOW_FIELDS, row[width:], strict=True)))
    for document in documents.values():
        document["windows"].sort(key=window_order)
    items, cursor = page_of(
        list(documents.values()), page, sort=_INTERVIEWS.c.created_at, tiebreak=_INTERVIEWS.c.id
    )
    return EncodedPage.of([to_json(item).decode() for item in items], cursor)
