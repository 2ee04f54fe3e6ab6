"""Who an attempt is aimed at: the employer, a referee, or nobody in particular."""

from enum import StrEnum

from app.enums import SOCIAL_CHANNELS, Channel, ContactRole


class Target(StrEnum):
    EMPLOYER = "employer"
    REFEREE = "referee"
    NONE = "none"


def target_of(channel: Channel, contact_role: ContactRole | None) -> Target:
    """Contract section 5: without a contact, a non-social attempt counts as to the employer."""
    if contact_role is ContactRole.REFEREE:
        return Target.REFEREE
    if contact_role is not None:
        return Target.EMPLOYER
    if channel in SOCIAL_CHANNELS:
        return Target.NONE
    return Target.EMPLOYER
