"""`weekly-contact-limit`: at most `weekly_limit` employer contacts in any rolling 7 days."""

from app.enums import SOCIAL_CHANNELS, Channel, Severity
from app.policy import seed
from app.policy.rules.base import WEEK, Hit, Situation, cite, iso, rule, when

_COUNTED = frozenset(Channel) - SOCIAL_CHANNELS


@rule(
    id="weekly-contact-limit",
    default_severity=Severity.BLOCK,
    fires_when=(
        "The attempt would make more than `weekly_limit` (2 by default) outbound employer "
        "contacts in the rolling 7 days ending with it (social channels excluded; a contact "
        "exactly 7 days earlier no longer counts). Never for a reply, nor after an `offer` "
        "or `hired` decision; earlier replies don't count."
    ),
    quote=seed.WAITING_GAME,
)
def weekly_contact_limit(s: Situation) -> Hit | None:
    if not (s.outbound and s.to_employer) or s.attempt.channel not in _COUNTED:
        return None
    if s.is_reply or s.after_offer:
        return None
    recent = [e for e in s.earlier_to_employer(_COUNTED) if e.occurred_at > s.at - WEEK]
    limit = s.settings.weekly_limit
    count = len(recent) + 1
    if count <= limit:
        return None
    # The oldest contacts that must leave the window before one more fits in it.
    next_allowed = recent[count - 1 - limit].occurred_at + WEEK if limit >= 1 else None
    wait = f"wait until {when(next_allowed)}" if next_allowed else "wait"
    return Hit(
        message=(
            f"This would be contact {count} with the employer within 7 days; the limit is {limit}."
        ),
        advice=f"{cite(seed.WAITING_GAME)} Give them time to answer and {wait}.",
        details=[
            {
                "count": count,
                "limit": limit,
                "earlier_contacts": [iso(e.occurred_at) for e in recent],
                "next_allowed_at": iso(next_allowed) if next_allowed else None,
            }
        ],
    )
