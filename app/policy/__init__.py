"""The contact-attempt policy: pure rules over plain facts (no database, clock or I/O).

Callers build a `PolicyContext` from the interview, its contacts, its stored attempts and
the account's `PolicySettings`, then call `evaluate(attempt, ctx)`.
"""

from app.policy.engine import evaluate, is_pending, verdict_for
from app.policy.model import (
    AttemptFacts,
    ContactFacts,
    Evaluation,
    Finding,
    InterviewFacts,
    PolicyContext,
)
from app.policy.problems import Names, Problem, ProblemKind
from app.policy.proofread import proofread
from app.policy.registry import RULE_IDS, RULES, RULES_BY_ID, Rule
from app.policy.replies import answered_inbound, in_reply_to_problem
from app.policy.settings import (
    DAY_NAMES,
    DEFAULT_POLICY_DOCUMENT,
    DEFAULT_SETTINGS,
    CallingHours,
    PolicySettings,
    RuleSettings,
    parse_duration,
    settings_from_document,
)

__all__ = [
    "DAY_NAMES",
    "DEFAULT_POLICY_DOCUMENT",
    "DEFAULT_SETTINGS",
    "RULES",
    "RULES_BY_ID",
    "RULE_IDS",
    "AttemptFacts",
    "CallingHours",
    "ContactFacts",
    "Evaluation",
    "Finding",
    "InterviewFacts",
    "Names",
    "PolicyContext",
    "PolicySettings",
    "Problem",
    "ProblemKind",
    "Rule",
    "RuleSettings",
    "answered_inbound",
    "evaluate",
    "in_reply_to_problem",
    "is_pending",
    "parse_duration",
    "proofread",
    "settings_from_document",
    "verdict_for",
]
