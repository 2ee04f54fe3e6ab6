"""Passages of the seed article that the rules cite, word for word.

The article is `shared/seed/000_a1548ea55815cc34.txt`; its typographic apostrophes are
written as plain ones here. Where the contract quotes a passage with an ellipsis, the
whole original sentence is kept so that both halves of the quote appear verbatim.
"""

from typing import Final

WAIT_24_HOURS: Final = (
    "If it's been 24 hours since your meeting with the recruiter or hiring manager, "
    "it makes good sense to follow up."
)
PROOFREAD: Final = (
    "However, it's worth proofing the email and running it past a friend. Grammatical "
    "errors or confusing sentences can negatively impact your chance at succeeding."
)
NO_REPEAT_CONTACT: Final = (
    "Once you've sent an initial follow-up email, resist the urge to call and leave "
    "multiple voicemail messages."
)
WAITING_GAME: Final = (
    "As tempting as it is to follow up with the hiring manager multiple times, "
    "searching for a job is a waiting game."
)
NO_SOCIAL_CONNECTION: Final = (
    "That's why it's wise to avoid adding them on Facebook, Twitter or other social "
    "platforms \N{EN DASH} particularly if their hiring decisions are still being made."
)
NO_PUBLIC_POST: Final = (
    "On this note, it's equally important to abstain from posting about your interview "
    "on your social channels, even if your comment is positive."
)
RECRUITERS_BROWSE: Final = (
    "Recruiters who could browse your platforms during the selection process might "
    "misinterpret your updates or view them as an inability to deal with confidential "
    "information."
)
CHECK_IN_AFTER_A_WEEK: Final = (
    "If you haven't heard back from the recruiter within an allocated time frame, it's "
    "appropriate to call and enquire about whether or not they've decided on the right "
    "candidate for the role."
)
THANK_YOU_EMAIL: Final = (
    "A short email recapping your interest in the role and thanking the hiring manager "
    "for meeting with you can leave a good impression and set you apart from other "
    "candidates."
)
NOT_YOUR_FRIEND: Final = (
    "Although a great interview can jump-start rapport with a potential employer, it's "
    "worth remembering that they're not your friend."
)
