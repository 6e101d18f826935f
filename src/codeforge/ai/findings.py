"""The one shape of a review finding, whatever found it (ruff, bandit, the taint pass, a model)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")


class Finding(BaseModel):
    """One problem in one place.

    A model's finding carries its evidence: the CWE id, the quoted code, the data
    flow, and ``confirmed_by`` (the static rule that agrees with it; empty when
    none does, and then its severity is at most ``medium``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str
    line: int = Field(ge=1)
    severity: Severity
    message: str = Field(min_length=1)
    suggestion: str = ""
    source: str = "model"
    rule: str = ""
    cwe: str = ""
    quote: str = ""
    flow: str = ""
    confirmed_by: str = ""


FINDINGS_ADAPTER = TypeAdapter(list[Finding])


def findings_json_schema() -> dict[str, Any]:
    """The JSON Schema of a review's JSON output."""
    return {
        "type": "object",
        "properties": {
            "findings": {"type": "array", "items": Finding.model_json_schema()},
            "dropped": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["findings"],
        "additionalProperties": False,
    }


def severity_rank(severity: Severity) -> int:
    return SEVERITIES.index(severity)


def at_or_above(findings: Iterable[Finding], threshold: Severity) -> list[Finding]:
    """The findings at ``threshold`` or worse (for ``--fail-on``)."""
    floor = severity_rank(threshold)
    return [f for f in findings if severity_rank(f.severity) >= floor]
