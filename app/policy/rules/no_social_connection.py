"""`no-social-connection`: don't add the employer's people on social media."""

from app.enums import Channel, Severity
from app.policy import seed
from app.policy.rules.base import Hit, Situation, cite, on_platform, rule
from app.targets import Target

_CHANNELS = frozenset({Channel.SOCIAL_CONNECTION, Channel.SOCIAL_MESSAGE})


@rule(
    id="no-social-connection",
    default_severity=Severity.BLOCK,
    default_severity_after_decision=Severity.WARN,
    fires_when=(
        "An outbound `social_connection` or `social_message` to an employer contact, or with "
        "no contact. While pending, platforms in `allowed_platforms` get `warn` instead of "
        "`block`. A `social_message` that replies on the platform the employer wrote from is "
        "fine; a `social_connection` never is."
    ),
    quote=seed.NO_SOCIAL_CONNECTION,
)
def no_social_connection(s: Situation) -> Hit | None:
    if not s.outbound or s.attempt.channel not in _CHANNELS:
        return None
    if s.target not in (Target.EMPLOYER, Target.NONE):
        return None
    if _answers_on_their_platform(s):
        return None
    platform = s.attempt.platform
    where = on_platform(platform)
    what = "A connection request" if s.attempt.channel is Channel.SOCIAL_CONNECTION else "A message"
    whom = f"to {s.contact.name}" if s.contact else "to someone at the employer"
    when_ = (
        "while the hiring decision is still being made"
        if s.pending
        else f"after the decision ({s.interview.decision.value})"
    )
    return Hit(
        message=f"{what} {where} {whom} {when_}.",
        advice=(
            f"{seed.NOT_YOUR_FRIEND} {cite(seed.NO_SOCIAL_CONNECTION)} Keep in touch by email "
            f"instead."
        ),
        details=[{"platform": platform.value if platform else None}],
        soften=s.pending and platform is not None and platform in s.settings.allowed_platforms,
    )


def _answers_on_their_platform(s: Situation) -> bool:
    """A message back on the platform the employer used is an answer, not an advance."""
    reply = s.reply
    return (
        s.attempt.channel is Channel.SOCIAL_MESSAGE
        and reply is not None
        and reply.platform is not None
        and reply.platform is s.attempt.platform
    )
