"""Follow-up windows in the database: created with the interview, moved by its changes,
opened by the worker. The rules themselves live in `app.windows.schedule`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, cast

from pydantic_core import to_json
from sqlalchemy import Select, String, Table, bindparam, case, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Update

from app.db.base import UTCDateTime
from app.db.models import (
    Account,
    Contact,
    FollowupWindow,
    Interview,
)
from app.db.sql import folded_page, json_document
from app.enums import Decision, EventType, WindowKind, WindowState
from app.policy import PolicySettings
from app.schemas.contacts import ContactRead
from app.schemas.events import WindowOpenedData
from app.schemas.interviews import InterviewRead, WindowRead
from app.services.accounts import CALLER_ACCOUNT, Credential, account_id_of, folded_page_of
from app.services.events import NewEvent, record_events
from app.services.pagination import EncodedPage, PageRequest, keyset, keyset_query, page_of
from app.windows.actions import SUGGESTED_ACTIONS
from app.windows.schedule import (
    StoredAttempt,
    WindowTimes,
    WindowView,
    all_opening_times,
    transition_for_attempt,
    transition_for_decision,
)

KIND_ORDER = {kind: index for index, kind in enumerate(WindowKind)}

_WINDOWS = cast(Table, FollowupWindow.__table__)
WINDOW_FIELDS = tuple(WindowRead.model_fields)
WINDOW_COLUMNS = tuple(_WINDOWS.c[name] for name in WINDOW_FIELDS)
"""A window's columns as its one shape (`WindowRead`) names them, for lists read
straight into documents."""


def _times(interview: Interview, settings: PolicySettings) -> WindowTimes:
    return WindowTimes(
        ends_at=interview.ends_at,
        decision_expected_at=interview.decision_expected_at,
        thank_you_delay=settings.thank_you_delay,
        check_in_delay=settings.check_in_delay,
    )


def in_order(windows: Sequence[FollowupWindow]) -> list[FollowupWindow]:
    """Opening order; kinds that open together keep the contract's order."""
    return sorted(windows, key=lambda w: (w.opens_at, KIND_ORDER[WindowKind(w.kind)]))


def window_order(document: Mapping[str, Any]) -> tuple[datetime, int]:
    """`in_order`'s key for a window document."""
    return document["opens_at"], KIND_ORDER[WindowKind(document["kind"])]


def _set_state(window: FollowupWindow, state: WindowState, now: datetime) -> None:
    window.state = state.value
    window.state_changed_at = now


async def windows_of(session: AsyncSession, interview_id: str) -> list[FollowupWindow]:
    rows = await session.scalars(
        select(FollowupWindow).where(FollowupWindow.interview_id == interview_id)
    )
    return in_order(rows.all())


async def windows_by_interview(
    session: AsyncSession, interview_ids: Iterable[str]
) -> dict[str, list[FollowupWindow]]:
    ids = list(interview_ids)
    grouped: dict[str, list[FollowupWindow]] = defaultdict(list)
    if not ids:
        return grouped
    rows = await session.scalars(select(FollowupWindow).where(FollowupWindow.interview_id.in_(ids)))
    for window in rows.all():
        grouped[window.interview_id].append(window)
    return {interview_id: in_order(windows) for interview_id, windows in grouped.items()}


async def interview_read(session: AsyncSession, interview: Interview) -> InterviewRead:
    """The interview as `GET /v1/interviews/{id}` shows it: with its windows."""
    return InterviewRead.of(interview, await windows_of(session, interview.id))


async def create_windows(
    session: AsyncSession, interview: Interview, settings: PolicySettings, now: datetime
) -> list[FollowupWindow]:
    windows = [
        FollowupWindow(
            account_id=interview.account_id,
            interview_id=interview.id,
            kind=kind.value,
            opens_at=opens_at,
            state=WindowState.PENDING.value,
            state_changed_at=now,
            created_at=now,
        )
        for kind, opens_at in all_opening_times(_times(interview, settings)).items()
    ]
    session.add_all(windows)
    await session.flush()
    return windows


async def reschedule(session: AsyncSession, interview: Interview, settings: PolicySettings) -> None:
    """Recompute the opening time of every window that has not opened yet."""
    opening = all_opening_times(_times(interview, settings))
    for window in await windows_of(session, interview.id):
        if window.state == WindowState.PENDING:
            window.opens_at = opening[WindowKind(window.kind)]
    await session.flush()


async def reschedule_account(
    session: AsyncSession, account: Account, settings: PolicySettings
) -> None:
    """After a policy change: every pending window of the account follows the new delays."""
    rows = await session.execute(
        select(FollowupWindow, Interview)
        .join(Interview, Interview.id == FollowupWindow.interview_id)
        .where(
            FollowupWindow.account_id == account.id,
            FollowupWindow.state == WindowState.PENDING.value,
        )
    )
    opening: dict[str, dict[WindowKind, datetime]] = {}
    for window, interview in rows.tuples():
        if interview.id not in opening:
            opening[interview.id] = all_opening_times(_times(interview, settings))
        window.opens_at = opening[interview.id][WindowKind(window.kind)]
    await session.flush()


async def apply_decision(session: AsyncSession, interview: Interview, now: datetime) -> None:
    for window in await windows_of(session, interview.id):
        view = WindowView(WindowKind(window.kind), WindowState(window.state), window.opens_at)
        new_state = transition_for_decision(view, Decision(interview.decision))
        if new_state is not None:
            _set_state(window, new_state, now)
    await session.flush()


def attempt_transitions(
    windows: Iterable[tuple[str, WindowView]], attempt: StoredAttempt, interview_ends_at: datetime
) -> dict[str, WindowState]:
    """The windows (by id) a stored attempt moves: it may complete them, or (inbound)
    cancel the check-in."""
    moved: dict[str, WindowState] = {}
    for window_id, view in windows:
        new_state = transition_for_attempt(view, attempt, interview_ends_at)
        if new_state is not None:
            moved[window_id] = new_state
    return moved


@cache
def set_states(count: int) -> Update:
    """One UPDATE giving `count` windows (bind parameters `window{i}_id`,
    `window{i}_state`) a new state, changed at `windows_changed_at` (`state_params`).
    Built once per count."""
    ids = [bindparam(f"window{index}_id", type_=String()) for index in range(count)]
    states = [bindparam(f"window{index}_state", type_=String()) for index in range(count)]
    new_state = case(
        *(
            (_WINDOWS.c.id == window_id, state)
            for window_id, state in zip(ids, states, strict=True)
        ),
        else_=_WINDOWS.c.state,
    )
    return (
        update(_WINDOWS)
        .where(_WINDOWS.c.id.in_(ids))
        .values(
            state=new_state,
            state_changed_at=bindparam("windows_changed_at", type_=UTCDateTime()),
        )
    )


def state_params(states: Mapping[str, WindowState], now: datetime) -> dict[str, Any]:
    """The values of `set_states(len(states))`."""
    params: dict[str, Any] = {"windows_changed_at": now}
    for index, (window_id, state) in enumerate(states.items()):
        params[f"window{index}_id"] = window_id
        params[f"window{index}_state"] = state.value
    return params


@lru_cache(maxsize=256)
def _window_page(
    filters: tuple[bool, ...], shape: tuple[bool, bool, bool, bool], by_key: bool
) -> Select[Any]:
    """The window list's statement for one combination of filters and page bounds, with
    bind parameters: built once, so a request builds no statement. The account is
    `account_id`, or with `by_key` the caller's."""
    by_interview, by_state, by_kind, before, after = filters
    account = CALLER_ACCOUNT if by_key else bindparam("account_id", type_=String())
    stmt = select(*WINDOW_COLUMNS).where(_WINDOWS.c.account_id == account)
    if by_interview:
        stmt = stmt.where(_WINDOWS.c.interview_id == bindparam("interview_id", type_=String()))
    if by_state:
        stmt = stmt.where(_WINDOWS.c.state == bindparam("state", type_=String()))
    if by_kind:
        stmt = stmt.where(_WINDOWS.c.kind == bindparam("kind", type_=String()))
    if before:
        stmt = stmt.where(_WINDOWS.c.opens_at < bindparam("opens_before", type_=UTCDateTime()))
    if after:
        stmt = stmt.where(_WINDOWS.c.opens_at > bindparam("opens_after", type_=UTCDateTime()))
    return keyset_query(
        stmt, shape, sort=_WINDOWS.c.opens_at, tiebreak=_WINDOWS.c.id, descending=False
    )


@lru_cache(maxsize=256)
def _window_documents(
    filters: tuple[bool, ...], shape: tuple[bool, bool, bool, bool], by_key: bool
) -> Select[Any]:
    """PostgreSQL: the same page with each window written as its JSON document by the
    database, folded into one row (`app.db.sql.folded_page`). `by_key`: the account is
    the caller's (`accounts.CALLER_ACCOUNT`), for a statement sent with the caller's."""
    paged = _window_page(filters, shape, by_key).subquery()
    document = json_document((name, paged.c[name]) for name in WINDOW_FIELDS)
    rows = select(document.label("document"), paged.c.opens_at, paged.c.id)
    return folded_page(rows, descending=False).add_columns(literal("page").label("row"))


async def list_windows(
    session: AsyncSession,
    owner: str | Credential,
    page: PageRequest,
    *,
    interview_id: str | None = None,
    state: WindowState | None = None,
    kind: WindowKind | None = None,
    opens_before: datetime | None = None,
    opens_after: datetime | None = None,
) -> EncodedPage:
    """A page of windows of `owner` (an account id, or the caller's API key: then this
    authenticates too), by `opens_at`, as JSON documents of `WindowRead`: written by
    PostgreSQL itself, in the caller's statement when `owner` is a key; encoded from the
    rows on SQLite."""
    bounds = keyset(page)
    filters = (
        interview_id is not None,
        state is not None,
        kind is not None,
        opens_before is not None,
        opens_after is not None,
    )
    params = {
        **bounds.params,
        "interview_id": interview_id,
        "state": state.value if state is not None else None,
        "kind": kind.value if kind is not None else None,
        "opens_before": opens_before,
        "opens_after": opens_after,
    }
    if session.get_bind().dialect.name == "postgresql":
        by_key = isinstance(owner, Credential)
        folded = _window_documents(filters, bounds.shape, by_key)
        return await folded_page_of(session, owner, folded, params, page)
    params["account_id"] = await account_id_of(session, owner)
    result = await session.execute(_window_page(filters, bounds.shape, False), params)
    rows = [dict(row) for row in result.mappings()]
    items, cursor = page_of(rows, page, sort=_WINDOWS.c.opens_at, tiebreak=_WINDOWS.c.id)
    return EncodedPage.of([to_json(item).decode() for item in items], cursor)


async def open_due_windows(session: AsyncSession, now: datetime, limit: int = 500) -> int:
    """Open up to `limit` due pending windows, each with exactly one window_opened event.

    The rows stay locked (PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite's single writer)
    until the caller commits, so concurrent workers never open the same window twice and
    a crash before commit leaves them pending for the next tick.
    """
    due = (
        await session.scalars(
            select(FollowupWindow)
            .where(
                FollowupWindow.state == WindowState.PENDING.value,
                FollowupWindow.opens_at <= now,
            )
            .order_by(FollowupWindow.opens_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not due:
        return 0
    interview_ids = {window.interview_id for window in due}
    interviews = {
        row.id: row
        for row in (
            await session.scalars(select(Interview).where(Interview.id.in_(interview_ids)))
        ).all()
    }
    contacts: dict[str, list[Contact]] = defaultdict(list)
    for contact in (
        await session.scalars(
            select(Contact)
            .where(Contact.interview_id.in_(interview_ids))
            .order_by(Contact.created_at, Contact.id)
        )
    ).all():
        contacts[contact.interview_id].append(contact)
    for window in due:
        _set_state(window, WindowState.OPEN, now)
    await session.flush()
    siblings = await windows_by_interview(session, interview_ids)
    await record_events(
        session,
        [
            NewEvent(
                window.account_id,
                EventType.WINDOW_OPENED,
                WindowOpenedData(
                    window=WindowRead.model_validate(window),
                    interview=InterviewRead.of(
                        interviews[window.interview_id], siblings[window.interview_id]
                    ),
                    contacts=[ContactRead.model_validate(c) for c in contacts[window.interview_id]],
                    suggested_action=SUGGESTED_ACTIONS[WindowKind(window.kind)],
                ),
            )
            for window in due
        ],
        now,
    )
    return len(due)
