"""`wait-24-hours`: give the employer a day before the first follow-up."""

import math

from app.enums import SOCIAL_CHANNELS, Severity
from app.policy import seed
from app.policy.rules.base import Hit, Situation, cite, iso, rule, span, when


@rule(
    id="wait-24-hours",
    default_severity=Severity.WARN,
    fires_when=(
        "An outbound contact to the employer on any channel but the social ones, at or "
        "after the interview's end (T) and before T + `thank_you_delay` (24 h by default). "
        "Never for a reply, nor after an `offer` or `hired` decision."
    ),
    quote=seed.WAIT_24_HOURS,
)
def wait_24_hours(s: Situation) -> Hit | None:
    if not (s.outbound and s.to_employer) or s.attempt.channel in SOCIAL_CHANNELS:
        return None
    if s.is_reply or s.after_offer:
        return None
    ended = s.interview.ends_at
    ready = ended + s.settings.thank_you_delay
    if not ended <= s.at < ready:
        return None
    return Hit(
        message=(
            f"Only {span(s.at - ended)} will have passed since the interview ended: "
            f"{span(ready - s.at)} remain until {when(ready)}, when following up makes sense."
        ),
        advice=(
            f"Wait until {when(ready)}, then send a short email recapping your interest in "
            f"the role and thanking the hiring manager for meeting with you. "
            f"{cite(seed.WAIT_24_HOURS)}"
        ),
        details=[
            {
                "interview_ended_at": iso(ended),
                "wait_until": iso(ready),
                "remaining_seconds": math.ceil((ready - s.at).total_seconds()),
            }
        ],
    )
