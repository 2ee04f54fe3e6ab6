"""The rules in the contract's table order: the one list settings, engine and docs read."""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from app.policy.rules.after_decision import after_decision
from app.policy.rules.base import Rule
from app.policy.rules.multiple_voicemails import multiple_voicemails
from app.policy.rules.no_public_post import no_public_post
from app.policy.rules.no_repeat_calls import no_repeat_calls
from app.policy.rules.no_social_connection import no_social_connection
from app.policy.rules.one_follow_up_email import one_follow_up_email
from app.policy.rules.proofread import proofread_rule
from app.policy.rules.quiet_hours import quiet_hours
from app.policy.rules.wait_24_hours import wait_24_hours
from app.policy.rules.weekly_contact_limit import weekly_contact_limit

__all__ = ["RULES", "RULES_BY_ID", "RULE_IDS", "Rule"]

RULES: Final[tuple[Rule, ...]] = (
    wait_24_hours,
    no_repeat_calls,
    one_follow_up_email,
    multiple_voicemails,
    weekly_contact_limit,
    no_social_connection,
    no_public_post,
    proofread_rule,
    after_decision,
    quiet_hours,
)

RULES_BY_ID: Final[Mapping[str, Rule]] = MappingProxyType({rule.id: rule for rule in RULES})

RULE_IDS: Final[tuple[str, ...]] = tuple(rule.id for rule in RULES)
