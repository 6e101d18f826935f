"""SARIF 2.1.0 output of a review, and its check against a structural subset of the schema.

The official schema file is not shipped by any package available here, so
:data:`SARIF_STRUCTURE` holds the parts of it the documents use.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codeforge.ai.findings import Finding

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"

_SARIF_LEVEL = {"low": "note", "medium": "warning", "high": "error", "critical": "error"}


def to_sarif(findings: Sequence[Finding], *, root: Path | None = None) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run."""
    from codeforge import __version__

    rules: dict[str, dict[str, Any]] = {}
    results = []
    for f in findings:
        rule_id = f"{f.source}/{f.rule}" if f.rule else f.source
        rules.setdefault(rule_id, {"id": rule_id, "shortDescription": {"text": rule_id}})
        uri = Path(f.file)
        if root is not None and uri.is_absolute() and uri.is_relative_to(root.resolve()):
            uri = uri.relative_to(root.resolve())
        result: dict[str, Any] = {
            "ruleId": rule_id,
            "level": _SARIF_LEVEL[f.severity],
            "message": {
                "text": f.message + (f" Suggestion: {f.suggestion}" if f.suggestion else "")
            },
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri.as_posix()},
                        "region": {"startLine": f.line},
                    }
                }
            ],
            "properties": {
                "severity": f.severity,
                "source": f.source,
                **({"cwe": f.cwe} if f.cwe else {}),
                **({"confirmed_by": f.confirmed_by} if f.source == "model" else {}),
            },
        }
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "codeforge-ai-review",
                        "version": __version__,
                        "informationUri": "https://github.com/codeforge/codeforge",
                        "rules": list(rules.values()),
                    }
                },
                "results": results,
            }
        ],
    }


# The parts of the official SARIF 2.1.0 schema that the documents above use:
# required properties, enums and types as the specification states them.
SARIF_STRUCTURE: dict[str, Any] = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"enum": ["2.1.0"]},
        "runs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["tool"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "version": {"type": "string"},
                                    "informationUri": {"type": "string", "format": "uri"},
                                    "rules": {
                                        "type": "array",
                                        "uniqueItems": True,
                                        "items": {
                                            "type": "object",
                                            "required": ["id"],
                                            "properties": {"id": {"type": "string"}},
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["message"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "level": {"enum": ["none", "note", "warning", "error"]},
                                "message": {
                                    "type": "object",
                                    "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
                                    "properties": {"text": {"type": "string"}},
                                },
                                "locations": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "anyOf": [
                                                    {"required": ["address"]},
                                                    {"required": ["artifactLocation"]},
                                                ],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "properties": {"uri": {"type": "string"}},
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "properties": {
                                                            "startLine": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            }
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                                "properties": {"type": "object"},
                            },
                        },
                    },
                },
            },
        },
    },
}


def validate_sarif(document: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` when ``document`` is not structurally SARIF 2.1.0."""
    jsonschema = importlib.import_module("jsonschema")
    jsonschema.Draft7Validator(SARIF_STRUCTURE).validate(document)
