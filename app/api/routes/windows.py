"""Follow-up windows: per interview, and across the account by opening time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.api.deps import CredentialDep, InterviewDep, PageDep, SessionDep
from app.api.openapi import ApiRoute
from app.api.responses import encoded_page_response
from app.enums import WindowKind, WindowState
from app.schemas.common import InputDatetime, Page
from app.schemas.interviews import WindowRead
from app.services import windows as service

router = APIRouter(tags=["follow-up windows"], route_class=ApiRoute)


@router.get(
    "/v1/interviews/{interview_id}/windows",
    response_model=Page[WindowRead],
    summary="List an interview's windows",
)
async def list_interview_windows(
    session: SessionDep, interview: InterviewDep, page: PageDep
) -> Response:
    """The interview's `thank_you`, `check_in` and `brief_referees` windows, by `opens_at`
    ascending."""
    listed = await service.list_windows(
        session, interview.account_id, page, interview_id=interview.id
    )
    return encoded_page_response(listed)


@router.get(
    "/v1/followup-windows",
    response_model=Page[WindowRead],
    name="list_followup_windows",
    summary="List windows across the account",
)
async def list_windows(
    session: SessionDep,
    credential: CredentialDep,
    page: PageDep,
    state: Annotated[WindowState | None, Query(description="Only windows in this state.")] = None,
    kind: Annotated[WindowKind | None, Query(description="Only windows of this kind.")] = None,
    opens_before: Annotated[
        InputDatetime | None, Query(description="Only windows opening before this instant.")
    ] = None,
    opens_after: Annotated[
        InputDatetime | None, Query(description="Only windows opening after this instant.")
    ] = None,
) -> Response:
    """Every interview's windows, by `opens_at` ascending, each with its `interview_id`:
    for example the `open` ones to act on now, or those opening this week."""
    listed = await service.list_windows(
        session,
        credential,
        page,
        state=state,
        kind=kind,
        opens_before=opens_before,
        opens_after=opens_after,
    )
    return encoded_page_response(listed)
