"""`quiet-hours`: calls and texts only during the callee's calling hours."""

from zoneinfo import ZoneInfo

from app.enums import Severity
from app.policy.rules.base import VOICE_AND_TEXT, Hit, Situation, channel_name, rule


@rule(
    id="quiet-hours",
    default_severity=Severity.WARN,
    fires_when=(
        "An outbound `phone_call`, `voicemail` or `text_message` (to anyone, referees "
        "included) outside `calling_hours` (08:00-18:00 Monday to Friday by default) in the "
        "contact's time zone, else the interview's."
    ),
    quote=None,
)
def quiet_hours(s: Situation) -> Hit | None:
    if not s.outbound or s.attempt.channel not in VOICE_AND_TEXT:
        return None
    own_zone = s.contact.timezone if s.contact else None
    zone = own_zone or s.interview.timezone
    local = s.at.astimezone(ZoneInfo(zone))
    hours = s.settings.calling_hours
    if hours.allows(local):
        return None
    whose = "the contact's" if own_zone else "the interview's"
    return Hit(
        message=(
            f"This {channel_name(s.attempt.channel)} falls at {local:%H:%M} on a {local:%A} "
            f"in {zone} ({whose} time zone), outside calling hours ({hours.describe()})."
        ),
        advice=(
            f"Call or text during calling hours ({hours.describe()}, {zone} time), or send an "
            f"email, which they can read when it suits them."
        ),
        details=[
            {
                "local_time": local.isoformat(),
                "timezone": zone,
                "calling_hours": hours.describe(),
            }
        ],
    )
