"""`multiple-voicemails`: at most one voicemail for the employer in any 7 days."""

from app.enums import Channel, Severity
from app.policy import seed
from app.policy.rules.base import WEEK, Hit, Situation, cite, iso, rule, span, when


@rule(
    id="multiple-voicemails",
    default_severity=Severity.BLOCK,
    fires_when=(
        "An outbound `voicemail` to the employer when one was already left for the employer "
        "in the previous 7 days (one exactly 7 days earlier no longer counts). Never for a "
        "reply, nor after an `offer` or `hired` decision; earlier replies don't count."
    ),
    quote=seed.NO_REPEAT_CONTACT,
)
def multiple_voicemails(s: Situation) -> Hit | None:
    if not (s.outbound and s.to_employer) or s.attempt.channel is not Channel.VOICEMAIL:
        return None
    if s.is_reply or s.after_offer:
        return None
    recent = [v for v in s.earlier_to_employer({Channel.VOICEMAIL}) if v.occurred_at > s.at - WEEK]
    if not recent:
        return None
    latest = recent[-1]
    next_allowed = latest.occurred_at + WEEK
    return Hit(
        message=(
            f"You already left the employer a voicemail {span(s.at - latest.occurred_at)} "
            f"earlier ({when(latest.occurred_at)})."
        ),
        advice=(
            f"{cite(seed.NO_REPEAT_CONTACT)} Give them the chance to call back; if you must "
            f"leave another message, wait until {when(next_allowed)}."
        ),
        details=[
            {
                "previous_voicemails": [iso(v.occurred_at) for v in recent],
                "next_allowed_at": iso(next_allowed),
            }
        ],
    )
