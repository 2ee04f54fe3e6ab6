"""Replies (contract section 5): an outbound attempt that answers the employer.

Answering the recruiter's email or returning a missed call is conversation, not chasing,
so the counting and timing rules leave replies alone. Whether an attempt is a reply is a
fact of the attempt history alone; stored attempts keep the answer they were given
(`reply_to`), so later evaluations never re-judge them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Final

from app.enums import Channel, ContactRole, Direction
from app.policy.model import AttemptFacts, ContactFacts
from app.policy.rules.base import INBOUND, OUTBOUND, iso

_REFEREE: Final = ContactRole.REFEREE
_PUBLIC_POST: Final = Channel.PUBLIC_POST
"""Read for every stored attempt: quicker as globals (see `rules.base.OUTBOUND`)."""


def in_reply_to_problem(attempt: AttemptFacts, attempts: Iterable[AttemptFacts]) -> str | None:
    """Why `attempt.in_reply_to` cannot be accepted, or None when it names an earlier
    inbound attempt among `attempts` (the interview's stored attempts)."""
    wanted = attempt.in_reply_to
    if wanted is None:
        return None
    named = next((stored for stored in attempts if stored.id == wanted), None)
    if named is None:
        return f"in_reply_to {wanted!r} is not a contact attempt of this interview."
    if named.direction is not Direction.INBOUND:
        return (
            f"in_reply_to must name an inbound attempt (the employer contacting the "
            f"candidate); {wanted!r} is outbound."
        )
    if not named.occurred_at < attempt.occurred_at:
        return (
            f"in_reply_to must name an earlier attempt: {wanted!r} occurred at "
            f"{iso(named.occurred_at)}, not before this attempt's occurred_at "
            f"{iso(attempt.occurred_at)}."
        )
    return None


def answered_inbound(
    attempt: AttemptFacts,
    attempts: Iterable[AttemptFacts],
    contacts: Mapping[str, ContactFacts],
    reply_window: timedelta,
) -> AttemptFacts | None:
    """The inbound attempt that `attempt` answers, or None when it is not a reply.

    Only attempts strictly earlier than `attempt` are considered. With `in_reply_to`, the
    attempt answers the inbound attempt it names. Without it, it answers the latest
    unanswered inbound attempt from the same person within `reply_window` (exclusive: one
    exactly `reply_window` earlier is too old), preferring one on the attempt's own
    platform. An attempt with no contact stands for the employer as a whole: it matches
    every employer contact. A `public_post` answers nobody.
    """
    if attempt.direction is not Direction.OUTBOUND or attempt.channel is Channel.PUBLIC_POST:
        return None
    at = attempt.occurred_at
    if attempt.in_reply_to is not None:
        return next(
            (
                stored
                for stored in attempts
                if stored.occurred_at < at
                and stored.id == attempt.in_reply_to
                and stored.direction is Direction.INBOUND
            ),
            None,
        )
    # Read twice below: anything but a list or tuple is copied first (a plain type check,
    # several times quicker than asking the `Sequence` ABC).
    stored_attempts = attempts if isinstance(attempts, list | tuple) else tuple(attempts)
    since = at - reply_window
    # The inbound attempts that could be answered come first: most histories have none, and
    # then the earlier attempts need not be collected for `_answered`.
    candidates = [
        inbound
        for inbound in stored_attempts
        if inbound.direction is INBOUND
        and inbound.id is not None
        and since < inbound.occurred_at < at
        and _same_party(inbound, attempt, contacts)
    ]
    if not candidates:
        return None
    earlier = [stored for stored in stored_attempts if stored.occurred_at < at]
    unanswered = [inbound for inbound in candidates if not _answered(inbound, earlier, contacts)]
    if not unanswered:
        return None
    return max(
        unanswered,
        key=lambda inbound: (
            attempt.platform is not None and inbound.platform is attempt.platform,
            inbound.occurred_at,
            inbound.id or "",
        ),
    )


def _is_employer(contact_id: str | None, contacts: Mapping[str, ContactFacts]) -> bool:
    contact = contacts.get(contact_id) if contact_id is not None else None
    return contact is None or contact.role is not _REFEREE


def _same_party(
    inbound: AttemptFacts, outbound: AttemptFacts, contacts: Mapping[str, ContactFacts]
) -> bool:
    """Whether `outbound` goes back to whoever made `inbound`."""
    if inbound.contact_id is not None and inbound.contact_id == outbound.contact_id:
        return True
    if inbound.contact_id is None:
        return _is_employer(outbound.contact_id, contacts)
    return outbound.contact_id is None and _is_employer(inbound.contact_id, contacts)


def _answered(
    inbound: AttemptFacts, earlier: Iterable[AttemptFacts], contacts: Mapping[str, ContactFacts]
) -> bool:
    """An outbound attempt named it, or went back to the same person after it."""
    return any(
        stored.direction is OUTBOUND
        and (
            stored.reply_to == inbound.id
            or (
                stored.occurred_at > inbound.occurred_at
                and stored.channel is not _PUBLIC_POST
                and _same_party(inbound, stored, contacts)
            )
        )
        for stored in earlier
    )
