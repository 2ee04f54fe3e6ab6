"""`after-decision`: once the process is closed, one courteous note and no more."""

from app.enums import Decision, Severity
from app.policy.rules.base import Hit, Situation, channel_name, iso, rule, when

_CLOSED = frozenset({Decision.REJECTED, Decision.WITHDRAWN, Decision.CANCELLED})


@rule(
    id="after-decision",
    default_severity=Severity.WARN,
    fires_when=(
        "An outbound contact to the employer at or after `decided_at` when the decision is "
        "`rejected`, `withdrawn` or `cancelled`, from the second such contact on: the first "
        "(a thank-you for the opportunity) is a courtesy. Never for a reply, and replies "
        "don't use up the courtesy note."
    ),
    quote=None,
)
def after_decision(s: Situation) -> Hit | None:
    decision = s.interview.decision
    if not (s.outbound and s.to_employer) or s.pending or decision not in _CLOSED:
        return None
    if s.is_reply:
        return None
    decided_at = s.interview.decided_at
    since_decision = [
        earlier
        for earlier in s.earlier_to_employer()
        if decided_at is None or earlier.occurred_at >= decided_at
    ]
    if not since_decision:
        return None  # the courtesy note
    courtesy = since_decision[0]
    on = f" on {when(decided_at)}" if decided_at else ""
    return Hit(
        message=(
            f"The interview was closed as {decision.value}{on}, and you already wrote to the "
            f"employer after that ({channel_name(courtesy.channel)}, "
            f"{when(courtesy.occurred_at)}); this {channel_name(s.attempt.channel)} would be "
            f"contact number {len(since_decision) + 1} since the decision."
        ),
        advice=(
            "Let the process rest. One short, courteous note, for instance thanking them for "
            "their time or asking to be considered for future roles, is enough; don't ask "
            "them to reconsider. Answering them when they write to you is always fine."
        ),
        details=[
            {
                "decision": decision.value,
                "decided_at": iso(decided_at) if decided_at else None,
                "contacts_since_decision": [iso(e.occurred_at) for e in since_decision],
            }
        ],
    )
