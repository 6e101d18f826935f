"""Review / bug detection: static analysis first (ruff, bandit), then the model.

Every finding has one fixed shape (:class:`Finding`) whatever found it; output
as a table (CLI), JSON, or SARIF 2.1.0. SARIF documents are checked by
:func:`validate_sarif` against a structural subset of the official 2.1.0 schema
(the schema file itself is not available from a package registry here).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from codeforge.ai.redact import is_secret_file

if TYPE_CHECKING:
    from codeforge.ai.provider import Provider

Severity = Literal["low", "medium", "high", "critical"]
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
MAX_FILE_CHARS = 8000


class Finding(BaseModel):
    """One problem in one place."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str
    line: int = Field(ge=1)
    severity: Severity
    message: str = Field(min_length=1)
    suggestion: str = ""
    source: str = "model"
    rule: str = ""


FINDINGS_ADAPTER = TypeAdapter(list[Finding])


def findings_json_schema() -> dict[str, Any]:
    """The JSON Schema of a review's JSON output."""
    return {
        "type": "object",
        "properties": {"findings": {"type": "array", "items": Finding.model_json_schema()}},
        "required": ["findings"],
        "additionalProperties": False,
    }


def severity_rank(severity: Severity) -> int:
    return SEVERITIES.index(severity)


def python_files(paths: Iterable[Path]) -> list[Path]:
    """The ``.py`` files under ``paths``, skipping hidden folders, venvs and secret files."""
    out: list[Path] = []
    for path in paths:
        candidates = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for file in candidates:
            parts = file.parts
            if any(p.startswith(".") and p not in (".", "..") for p in parts) or any(
                p in ("venv", "node_modules", "__pycache__") for p in parts
            ):
                continue
            if file.suffix == ".py" and not is_secret_file(file):
                out.append(file)
    return out


def _ruff_severity(code: str) -> Severity:
    if code.startswith("S"):
        return "high"
    if code.startswith(("F", "E9", "B")):
        return "medium"
    return "low"


class ToolNotRun(Exception):
    """A static analyser could not run (not installed, or it failed)."""

    def __init__(self, tool: str, why: str) -> None:
        super().__init__(f"{tool}: {why}")
        self.tool = tool
        self.why = why


def _json_output(tool: str, proc: subprocess.CompletedProcess[str], ok: tuple[int, ...]) -> Any:
    if proc.returncode not in ok:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise ToolNotRun(tool, f"exited {proc.returncode}" + (f": {detail[-1]}" if detail else ""))
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise ToolNotRun(tool, "gave no JSON report") from None


def run_ruff(paths: Sequence[Path]) -> list[Finding]:
    """ruff's findings (its default rules plus bugbear and bandit-style rules);
    :class:`ToolNotRun` when ruff is missing or fails."""
    exe = shutil.which("ruff")
    cmd = [exe] if exe else [sys.executable, "-m", "ruff"]
    if not exe and importlib.util.find_spec("ruff") is None:
        raise ToolNotRun("ruff", "not installed")
    proc = subprocess.run(
        [*cmd, "check", "--output-format", "json", "--exit-zero", "--no-cache", "--isolated",
         "--select", "E9,F,B,S", *map(str, paths)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    items = _json_output("ruff", proc, (0,))
    return [
        Finding(
            file=str(item["filename"]),
            line=max(1, int((item.get("location") or {}).get("row") or 1)),
            severity=_ruff_severity(str(item.get("code") or "")),
            message=str(item.get("message") or "ruff finding"),
            suggestion=str((item.get("fix") or {}).get("message") or ""),
            source="ruff",
            rule=str(item.get("code") or ""),
        )
        for item in items
    ]


def run_bandit(paths: Sequence[Path]) -> list[Finding]:
    """bandit's findings; :class:`ToolNotRun` when bandit is missing or fails."""
    if not paths:
        return []
    if importlib.util.find_spec("bandit") is None:
        raise ToolNotRun("bandit", "not installed")
    proc = subprocess.run(
        [sys.executable, "-m", "bandit", "-f", "json", "-q", *map(str, paths)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    # bandit exits 1 when it found something, 0 when not.
    results = _json_output("bandit", proc, (0, 1)).get("results", [])
    sev: dict[str, Severity] = {"LOW": "low", "MEDIUM": "medium", "HIGH": "high"}
    return [
        Finding(
            file=str(r["filename"]),
            line=max(1, int(r.get("line_number") or 1)),
            severity=sev.get(str(r.get("issue_severity")), "medium"),
            message=str(r.get("issue_text") or "bandit finding"),
            suggestion=str(r.get("more_info") or ""),
            source="bandit",
            rule=str(r.get("test_id") or ""),
        )
        for r in results
    ]


def model_schema(max_items: int = 5) -> dict[str, Any]:
    """What the model must answer: a list of findings without the file (one file per call)."""
    return {
        "type": "object",
        "properties": {
            "findings": {
                "type": "array",
                "maxItems": max_items,
                "items": {
                    "type": "object",
                    "properties": {
                        "line": {"type": "integer", "minimum": 1},
                        "severity": {"enum": list(SEVERITIES)},
                        # Bounded so a full answer always fits in the token budget:
                        # a cut-off answer would not parse.
                        "message": {"type": "string", "minLength": 1, "maxLength": 160},
                        "suggestion": {"type": "string", "maxLength": 160},
                    },
                    "required": ["line", "severity", "message", "suggestion"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["findings"],
        "additionalProperties": False,
    }


def model_review(
    provider: Provider, files: Sequence[Path], *, max_tokens: int = 1000
) -> list[Finding]:
    """The model's findings, one constrained call per file."""
    findings: list[Finding] = []
    for path in files:
        source = path.read_text(encoding="utf-8", errors="replace")[:MAX_FILE_CHARS]
        lines = source.splitlines()
        numbered = "\n".join(f"{i + 1}: {line}" for i, line in enumerate(lines))
        data, _ = provider.complete_json(
            [
                {
                    "role": "system",
                    "content": "You review Python code for bugs and security problems. "
                    "Report only real problems, with the line number where each is.",
                },
                {"role": "user", "content": f"File {path.name}:\n{numbered}"},
            ],
            model_schema(),
            max_tokens=max_tokens,
            schema_name="review",
        )
        for item in data["findings"]:
            findings.append(
                Finding(
                    file=str(path),
                    line=min(max(1, int(item["line"])), max(1, len(lines))),
                    severity=item["severity"],
                    message=item["message"],
                    suggestion=item.get("suggestion", ""),
                    source="model",
                )
            )
    return findings


def static_review(paths: Sequence[Path]) -> tuple[list[Finding], dict[str, str]]:
    """ruff's and bandit's findings, and the tools that did not run with the reason."""
    findings: list[Finding] = []
    not_run: dict[str, str] = {}
    for run in (run_ruff, run_bandit):
        try:
            findings += run(paths) if paths else []
        except ToolNotRun as exc:
            not_run[exc.tool] = exc.why
    return findings, not_run


def review_report(
    paths: Sequence[Path], provider: Provider | None = None, *, static_only: bool = False
) -> tuple[list[Finding], dict[str, str]]:
    """ruff and bandit, then the model (unless ``static_only``), sorted by severity;
    with the static tools that did not run (a review without them is incomplete)."""
    files = python_files(paths)
    findings, not_run = static_review(files)
    if provider is not None and not static_only:
        findings += model_review(provider, files)
    findings.sort(key=lambda f: (-severity_rank(f.severity), f.file, f.line))
    return findings, not_run


def review(
    paths: Sequence[Path], provider: Provider | None = None, *, static_only: bool = False
) -> list[Finding]:
    """The findings of :func:`review_report`."""
    return review_report(paths, provider, static_only=static_only)[0]


def at_or_above(findings: Iterable[Finding], threshold: Severity) -> list[Finding]:
    """The findings at ``threshold`` or worse (for ``--fail-on``)."""
    floor = severity_rank(threshold)
    return [f for f in findings if severity_rank(f.severity) >= floor]


def to_json(findings: Sequence[Finding]) -> dict[str, Any]:
    return {"findings": [f.model_dump() for f in findings]}


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
            "properties": {"severity": f.severity, "source": f.source},
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


def safe_relative(path: str) -> str | None:
    """``path`` as a clean relative POSIX path, or None when it could leave its folder."""
    from pathlib import PurePosixPath

    text = path.replace("\\", "/")
    pure = PurePosixPath(text)
    if (
        not text
        or "\x00" in text
        or pure.is_absolute()
        or (len(text) > 1 and text[1] == ":")
        or any(part in ("", ".", "..") for part in text.split("/"))
    ):
        return None
    return str(pure)


def review_files(
    files: Mapping[str, str], provider: Provider | None = None, *, max_tokens: int = 400
) -> tuple[list[Finding], list[str]]:
    """Review file contents given in memory (the API): never reads any other file.

    The contents go to a fresh private temporary folder for ruff and bandit; findings
    name the caller's relative paths. Returns the findings and the paths skipped
    (not Python, or secret files such as ``.env``, which never reach a model).
    """
    import os
    import tempfile

    skipped: list[str] = []
    with tempfile.TemporaryDirectory(prefix="codeforge-review-") as tmp:
        root = Path(os.path.realpath(tmp))
        written: dict[str, str] = {}
        for name, content in files.items():
            rel = safe_relative(name)
            if rel is None or not rel.endswith(".py") or is_secret_file(rel):
                skipped.append(name)
                continue
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
            written[str(target)] = rel
        paths = [Path(p) for p in written]
        findings = static_review(paths)[0]
        if provider is not None and paths:
            findings += model_review(provider, paths, max_tokens=max_tokens)
        findings.sort(key=lambda f: (-severity_rank(f.severity), f.file, f.line))
    named = [
        f.model_copy(update={"file": written.get(os.path.realpath(f.file), f.file)})
        for f in findings
    ]
    return named, skipped
