"""Plain records the core hands to a store. No database imports here."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclasses.dataclass(frozen=True, slots=True)
class GenerationRecord:
    """What one successful generation made; secrets are already removed."""

    project_name: str
    path: str
    blueprint_name: str
    blueprint_version: str
    blueprint_source: str
    answers: dict[str, Any]
    action: str = "init"  # init | generate | update | register
    actor: str | None = None  # user name; None for the local CLI user
    file_count: int = 0
    created_at: datetime = dataclasses.field(default_factory=utcnow)
    record_id: str = ""  # idempotency key; ingesting the same id twice is a no-op
    # Extra facts for the Activity row; "update": from_version, to_version, changed, conflicts.
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GenerationRecord:
        fields = dict(data)
        fields["created_at"] = datetime.fromisoformat(fields["created_at"])
        return cls(**fields)
