"""`after-decision`: once the process is closed, further employer contact is unwelcome."""

from app.enums import Decision, Severity
from app.policy.rules.base import Hit, Situation, channel_name, iso, rule, when

_CLOSED = frozenset({Decision.REJECTED, Decision.WITHDRAWN, Decision.CANCELLED})


@rule(
    id="after-decision",
    default_severity=Severity.WARN,
    fires_when=(
        "An outbound contact to the employer at or after `decided_at` when the decision is "
        "`rejected`, `withdrawn` or `cancelled`."
    ),
    quote=None,
)
def after_decision(s: Situation) -> Hit | None:
    decision = s.interview.decision
    if not (s.outbound and s.to_employer) or s.pending or decision not in _CLOSED:
        return None
    decided_at = s.interview.decided_at
    since = f" on {when(decided_at)}" if decided_at else ""
    return Hit(
        message=(
            f"The interview was closed as {decision.value}{since}; this "
            f"{channel_name(s.attempt.channel)} would reach the employer after that."
        ),
        advice=(
            "Let the process rest. If you write at all, keep it to one short, courteous "
            "note, for instance thanking them for their time or asking to be considered for "
            "future roles, and don't ask them to reconsider."
        ),
        details=[
            {
                "decision": decision.value,
                "decided_at": iso(decided_at) if decided_at else None,
            }
        ],
    )
