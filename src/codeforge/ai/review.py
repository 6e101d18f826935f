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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codeforge.ai.errors import AIProviderError
from codeforge.ai.findings import FINDINGS_ADAPTER as FINDINGS_ADAPTER
from codeforge.ai.findings import SEVERITIES as SEVERITIES
from codeforge.ai.findings import Finding as Finding
from codeforge.ai.findings import Severity as Severity
from codeforge.ai.findings import at_or_above as at_or_above
from codeforge.ai.findings import findings_json_schema as findings_json_schema
from codeforge.ai.findings import severity_rank as severity_rank
from codeforge.ai.grounding import Dropped, normalise_cwe, rule_cwe
from codeforge.ai.redact import is_secret_file
from codeforge.ai.sarif import SARIF_SCHEMA_URI as SARIF_SCHEMA_URI
from codeforge.ai.sarif import SARIF_STRUCTURE as SARIF_STRUCTURE
from codeforge.ai.sarif import to_sarif as to_sarif
from codeforge.ai.sarif import validate_sarif as validate_sarif
from codeforge.ai.taint import taint_findings

if TYPE_CHECKING:
    from codeforge.ai.model_review import Options
    from codeforge.ai.provider import Provider

MAX_REVIEW_BYTES = 1024 * 1024  # a bigger "source" file is generated or data: skipped


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


def screen(files: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """The files a review reads, and a note for each one skipped (binary or huge)."""
    kept: list[Path] = []
    notes: list[str] = []
    for file in files:
        size = file.stat().st_size
        if size > MAX_REVIEW_BYTES:
            notes.append(f"{file}: skipped: {size} bytes, over the {MAX_REVIEW_BYTES} byte limit")
            continue
        with file.open("rb") as fh:
            if b"\0" in fh.read(8192):
                notes.append(f"{file}: skipped: a binary file (NUL bytes)")
                continue
        kept.append(file)
    return kept, notes


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
            cwe=rule_cwe("ruff", str(item.get("code") or "")),
        )
        for item in items
    ]


def _bandit_cwe(result: Mapping[str, Any]) -> str:
    """bandit's own CWE when it is one of the review's list, else the rule's."""
    cwe = normalise_cwe((result.get("issue_cwe") or {}).get("id", ""))
    return cwe or rule_cwe("bandit", str(result.get("test_id") or ""))


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
            cwe=_bandit_cwe(r),
        )
        for r in results
    ]


def static_review(paths: Sequence[Path]) -> tuple[list[Finding], dict[str, str]]:
    """ruff's, bandit's and the taint pass's findings, and the tools that did not run.

    A file that is not valid UTF-8 (which both tools refuse to read) is analysed as a
    private copy with the bad bytes replaced: lines stay where they are, and its
    findings name the original file.
    """
    import os
    import tempfile

    findings: list[Finding] = []
    not_run: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="codeforge-review-") as tmp:
        copies: dict[str, str] = {}
        readable: list[Path] = []
        for number, path in enumerate(paths):
            raw = path.read_bytes()
            try:
                raw.decode("utf-8")
                readable.append(path)
            except UnicodeDecodeError:
                copy = Path(os.path.realpath(tmp)) / str(number) / path.name
                copy.parent.mkdir()
                copy.write_text(raw.decode("utf-8", errors="replace"), encoding="utf-8")
                copies[str(copy)] = str(path)
                readable.append(copy)
        for run in (run_ruff, run_bandit):
            try:
                findings += run(readable) if readable else []
            except ToolNotRun as exc:
                not_run[exc.tool] = exc.why
        for path in readable:
            findings += taint_findings(path)
    named = [
        f.model_copy(update={"file": copies[f.file]}) if f.file in copies else f for f in findings
    ]
    return named, not_run


@dataclass
class Report:
    """A review: the findings, the model findings dropped as unverifiable, the static
    tools that did not run, and notes on files a stage skipped; when the model server
    was lost midway, why (``model_lost``) and the files the model never reviewed."""

    findings: list[Finding] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    not_run: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    model_lost: AIProviderError | None = None
    not_reviewed: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = {
            **to_json(self.findings, self.dropped),
            "not_run": self.not_run,
            "notes": self.notes,
        }
        if self.model_lost is not None:
            out["model_lost"] = self.model_lost.message
            out["not_reviewed"] = self.not_reviewed
        return out


def review_report(
    paths: Sequence[Path],
    provider: Provider | None = None,
    *,
    static_only: bool = False,
    options: Options | None = None,
) -> Report:
    """ruff and bandit, then the model (unless ``static_only``), sorted by severity;
    with the static tools that did not run (a review without them is incomplete)."""
    from codeforge.ai.model_review import model_review

    files, notes = screen(python_files(paths))
    report = Report(notes=notes)
    report.findings, report.not_run = static_review(files)
    if provider is not None and not static_only:
        stage = model_review(provider, files, report.findings, options)
        report.findings += stage.findings
        report.dropped, report.notes = stage.dropped, report.notes + stage.notes
        report.model_lost, report.not_reviewed = stage.lost, stage.not_reviewed
    report.findings.sort(key=lambda f: (-severity_rank(f.severity), f.file, f.line))
    return report


def review(
    paths: Sequence[Path], provider: Provider | None = None, *, static_only: bool = False
) -> list[Finding]:
    """The findings of :func:`review_report`."""
    return review_report(paths, provider, static_only=static_only).findings


def to_json(findings: Sequence[Finding], dropped: Sequence[Dropped] = ()) -> dict[str, Any]:
    """``{"findings": [...]}``, with ``"dropped"`` when model findings were dropped."""
    out: dict[str, Any] = {"findings": [f.model_dump() for f in findings]}
    if dropped:
        out["dropped"] = [d.to_json() for d in dropped]
    return out


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
            from codeforge.ai.model_review import Options, model_review

            stage = model_review(provider, paths, findings, Options(max_tokens=max_tokens))
            if stage.lost is not None:
                raise stage.lost
            findings += stage.findings
        findings.sort(key=lambda f: (-severity_rank(f.severity), f.file, f.line))
    named = [
        f.model_copy(update={"file": written.get(os.path.realpath(f.file), f.file)})
        for f in findings
    ]
    return named, skipped
