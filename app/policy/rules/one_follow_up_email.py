"""`one-follow-up-email`: one email after the interview until the check-in window opens."""

from app.enums import Channel, Severity
from app.policy import seed
from app.policy.rules.base import Hit, Situation, cite, iso, rule, when


@rule(
    id="one-follow-up-email",
    default_severity=Severity.WARN,
    fires_when=(
        "An outbound `email` to the employer at or after T and before the `check_in` window "
        "opens, when an earlier outbound employer email at or after T exists. Never for a "
        "reply, nor after an `offer` or `hired` decision; earlier replies don't count."
    ),
    quote=seed.NO_REPEAT_CONTACT,
)
def one_follow_up_email(s: Situation) -> Hit | None:
    if not (s.outbound and s.to_employer) or s.attempt.channel is not Channel.EMAIL:
        return None
    if s.is_reply or s.after_offer:
        return None
    if not s.interview.ends_at <= s.at < s.check_in_opens_at:
        return None
    emails = s.earlier_to_employer({Channel.EMAIL}, since=s.interview.ends_at)
    if not emails:
        return None
    first = emails[0]
    return Hit(
        message=(
            f"You already emailed the employer after the interview ({when(first.occurred_at)}); "
            f"this would be follow-up email number {len(emails) + 1} before the check-in "
            f"window opens at {when(s.check_in_opens_at)}."
        ),
        advice=(
            f"{cite(seed.NO_REPEAT_CONTACT)} Give them until the check-in window on "
            f"{when(s.check_in_opens_at)}. {seed.CHECK_IN_AFTER_A_WEEK}"
        ),
        details=[
            {
                "previous_emails": [iso(email.occurred_at) for email in emails],
                "check_in_opens_at": iso(s.check_in_opens_at),
            }
        ],
    )
