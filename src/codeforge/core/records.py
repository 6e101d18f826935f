"""Plain records the core hands to a store. No database imports here."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple


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


class BlueprintIdentity(NamedTuple):
    """Which blueprint made a project: name, version and source label."""

    name: str
    version: str
    source: str


def new_record(
    name: str,
    path: str,
    blueprint: BlueprintIdentity,
    answers: Mapping[str, Any],
    action: str,
    file_count: int = 0,
    *,
    actor: str | None = None,
    record_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> GenerationRecord:
    """The one way a record is made (init, generate, update, register, server generations).

    ``record_id`` (the idempotency key) defaults to a new random id; ``actor`` is the
    user on a server (None: the local CLI user).
    """
    return GenerationRecord(
        project_name=name,
        path=path,
        blueprint_name=blueprint.name,
        blueprint_version=blueprint.version,
        blueprint_source=blueprint.source,
        answers=dict(answers),
        action=action,
        actor=actor,
        file_count=file_count,
        record_id=record_id or os.urandom(16).hex(),
        details=dict(details or {}),
    )


PUBLISH = "publish"


def publish_record(path: str, provider: str, remote_url: str, at: datetime) -> GenerationRecord:
    """The record of a publish of the local project at ``path`` (action ``publish``).

    It carries no blueprint: the store applies it to the project recorded at
    ``path``, if any (``provider``, ``remote_url``, ``published_at``), and logs it.
    """
    return GenerationRecord(
        project_name=path.rstrip("/").rsplit("/", 1)[-1],
        path=path,
        blueprint_name="",
        blueprint_version="",
        blueprint_source="",
        answers={},
        action=PUBLISH,
        created_at=at,
        record_id=os.urandom(16).hex(),
        details={"provider": provider, "remote_url": remote_url},
    )


WORKFLOW = "workflow"


def workflow_record(path: str, result: Mapping[str, Any], at: datetime) -> GenerationRecord:
    """The record of one workflow stage result for the local project at ``path``.

    Like a publish it carries no blueprint: the store keeps ``result`` as the stage's
    last result of the project recorded at ``path`` (registering it from its answers
    file first when it is not yet) and logs a ``workflow`` Activity row.
    """
    return GenerationRecord(
        project_name=path.rstrip("/").rsplit("/", 1)[-1],
        path=path,
        blueprint_name="",
        blueprint_version="",
        blueprint_source="",
        answers={},
        action=WORKFLOW,
        created_at=at,
        record_id=os.urandom(16).hex(),
        details={"result": dict(result)},
    )
