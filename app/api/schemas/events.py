from __future__ import annotations

from typing import Any

from app.api.schemas.common import OutputModel, UTCDatetime
from app.enums import EventType


class EventRead(OutputModel):
    id: str
    type: EventType
    created_at: UTCDatetime
    data: dict[str, Any]
