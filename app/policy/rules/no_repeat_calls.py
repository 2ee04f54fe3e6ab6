"""`no-repeat-calls`: after the first follow-up, no calls or texts until the check-in."""

from app.enums import Severity
from app.policy import seed
from app.policy.rules.base import (
    VOICE_AND_TEXT,
    Hit,
    Situation,
    channel_name,
    cite,
    iso,
    rule,
    when,
)


@rule(
    id="no-repeat-calls",
    default_severity=Severity.BLOCK,
    fires_when=(
        "An outbound `phone_call`, `voicemail` or `text_message` to the employer after the "
        "initial follow-up (the first outbound employer contact at or after T) and before "
        "the `check_in` window opens. Never for a reply, nor after an `offer` or `hired` "
        "decision; replies are not the initial follow-up."
    ),
    quote=seed.NO_REPEAT_CONTACT,
)
def no_repeat_calls(s: Situation) -> Hit | None:
    if not (s.outbound and s.to_employer) or s.attempt.channel not in VOICE_AND_TEXT:
        return None
    if s.is_reply or s.after_offer:
        return None
    if s.at >= s.check_in_opens_at:
        return None
    followed_up = s.earlier_to_employer(since=s.interview.ends_at)
    if not followed_up:
        return None
    initial = followed_up[0]
    return Hit(
        message=(
            f"You already followed up with the employer ({channel_name(initial.channel)}, "
            f"{when(initial.occurred_at)}); a {channel_name(s.attempt.channel)} before the "
            f"check-in window opens at {when(s.check_in_opens_at)} would put pressure on them."
        ),
        advice=(
            f"{cite(seed.NO_REPEAT_CONTACT)} Wait for the check-in window on "
            f"{when(s.check_in_opens_at)}. {seed.CHECK_IN_AFTER_A_WEEK}"
        ),
        details=[
            {
                "initial_follow_up_at": iso(initial.occurred_at),
                "initial_follow_up_channel": initial.channel.value,
                "check_in_opens_at": iso(s.check_in_opens_at),
            }
        ],
    )
