"""What to do when a window opens: one sentence per kind, drawn from the seed article."""

from __future__ import annotations

from typing import Final

from app.enums import WindowKind

SUGGESTED_ACTIONS: Final[dict[WindowKind, str]] = {
    WindowKind.THANK_YOU: (
        "It's been 24 hours since your meeting: send a short email recapping your interest "
        "in the role and thanking the hiring manager for meeting with you, and proofread it "
        "before you send it."
    ),
    WindowKind.CHECK_IN: (
        "If you haven't heard back from the recruiter within an allocated time frame, it's "
        "appropriate to call and enquire about whether or not they've decided on the right "
        "candidate for the role."
    ),
    WindowKind.BRIEF_REFEREES: (
        "Contact your referees, highlight to them that a potential employer might be in "
        "touch and brief them on the position you've applied for so they're prepared."
    ),
}
