"""`no-public-post`: don't post about the interview."""

from app.enums import Channel, Severity
from app.policy import seed
from app.policy.rules.base import Hit, Situation, cite, on_platform, rule


@rule(
    id="no-public-post",
    default_severity=Severity.BLOCK,
    default_severity_after_decision=Severity.INFO,
    fires_when="Any outbound `public_post`.",
    quote=seed.NO_PUBLIC_POST,
)
def no_public_post(s: Situation) -> Hit | None:
    if not s.outbound or s.attempt.channel is not Channel.PUBLIC_POST:
        return None
    platform = s.attempt.platform
    where = on_platform(platform)
    if s.pending:
        message = f"A public post {where} while the hiring decision is still being made."
        advice = f"{cite(seed.NO_PUBLIC_POST)} {seed.RECRUITERS_BROWSE}"
    else:
        message = (
            f"A public post {where} after the decision ({s.interview.decision.value}); "
            f"recruiters may still read it."
        )
        advice = (
            f"{cite(seed.NO_PUBLIC_POST)} Leave out anything the employer shared in confidence."
        )
    return Hit(
        message=message,
        advice=advice,
        details=[{"platform": platform.value if platform else None}],
    )
