"""Enumerations of the public contract, shared by every layer (pure, no I/O)."""

from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    PHONE_CALL = "phone_call"
    VOICEMAIL = "voicemail"
    TEXT_MESSAGE = "text_message"
    SOCIAL_CONNECTION = "social_connection"
    SOCIAL_MESSAGE = "social_message"
    PUBLIC_POST = "public_post"
    IN_PERSON = "in_person"
    OTHER = "other"


SOCIAL_CHANNELS = frozenset(
    {Channel.SOCIAL_CONNECTION, Channel.SOCIAL_MESSAGE, Channel.PUBLIC_POST}
)
"""Channels that need a `platform` and never count as ordinary employer contact."""


class Direction(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class Platform(StrEnum):
    FACEBOOK = "facebook"
    TWITTER = "twitter"
    LINKEDIN = "linkedin"
    INSTAGRAM = "instagram"
    TIKTOK = "tiktok"
    OTHER = "other"


class Purpose(StrEnum):
    THANK_YOU = "thank_you"
    CHECK_IN = "check_in"
    REFEREE_BRIEFING = "referee_briefing"
    OTHER = "other"


class ContactRole(StrEnum):
    RECRUITER = "recruiter"
    HIRING_MANAGER = "hiring_manager"
    INTERVIEWER = "interviewer"
    REFEREE = "referee"


class InterviewFormat(StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    VIDEO = "video"


class Decision(StrEnum):
    PENDING = "pending"
    OFFER = "offer"
    HIRED = "hired"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"


class Severity(StrEnum):
    BLOCK = "block"
    WARN = "warn"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Sort key: block first, then warn, then info."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.BLOCK: 0, Severity.WARN: 1, Severity.INFO: 2}


class Verdict(StrEnum):
    ALLOWED = "allowed"
    FLAGGED = "flagged"
    REJECTED = "rejected"


class WindowKind(StrEnum):
    THANK_YOU = "thank_you"
    CHECK_IN = "check_in"
    BRIEF_REFEREES = "brief_referees"


class WindowState(StrEnum):
    PENDING = "pending"
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class EventType(StrEnum):
    INTERVIEW_CREATED = "interview.created"
    INTERVIEW_UPDATED = "interview.updated"
    INTERVIEW_DECIDED = "interview.decided"
    CONTACT_ATTEMPT_RECORDED = "contact_attempt.recorded"
    CONTACT_ATTEMPT_FLAGGED = "contact_attempt.flagged"
    CONTACT_ATTEMPT_REJECTED = "contact_attempt.rejected"
    WINDOW_OPENED = "followup.window_opened"
    WEBHOOK_TEST = "webhook.test"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
