"""Review a server project's stored tree: the ``review`` job's use case.

The tree (the project's zip in the artifact store) is unpacked, Python files only,
into a private temporary folder (every name checked: nothing lands outside it),
then reviewed as ``codeforge ai review`` does: ruff, bandit and the taint pass,
then the model when one is configured for the server (``CODEFORGE_AI_BASE_URL``,
or ``CODEFORGE_AI_API_LOCAL=true`` for the local model). The result is a summary
and a SARIF 2.1.0 log whose paths are the project's own.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codeforge.ai.review import MAX_REVIEW_BYTES, Report, review_report, safe_relative
from codeforge.ai.sarif import to_sarif, validate_sarif

if TYPE_CHECKING:
    from codeforge.ai.provider import Provider

Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class TreeReview:
    """What a review of a tree produced: the report, its SARIF log, whether a model ran."""

    report: Report
    sarif: bytes
    model: str | None
    files: int

    def summary(self) -> dict[str, Any]:
        """The job's result: counts by severity and source, notes, what was not reviewed."""
        by_severity: dict[str, int] = {}
        by_source: dict[str, int] = {}
        for f in self.report.findings:
            by_severity[f.severity] = by_severity.get(f.severity, 0) + 1
            by_source[f.source] = by_source.get(f.source, 0) + 1
        out: dict[str, Any] = {
            "files": self.files,
            "model": self.model,
            "findings": len(self.report.findings),
            "by_severity": by_severity,
            "by_source": by_source,
            "confirmed": sum(1 for f in self.report.findings if f.confirmed_by),
            "dropped": len(self.report.dropped),
            "not_run": self.report.not_run,
            "notes": self.report.notes,
        }
        if self.report.model_lost is not None:
            out["model_lost"] = self.report.model_lost.message
            out["not_reviewed"] = self.report.not_reviewed
        return out


def unpack_python(data: bytes, root: Path) -> list[Path]:
    """The tree's ``.py`` files written under ``root`` (unsafe names and huge files left out)."""
    written = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            rel = safe_relative(info.filename)
            if info.is_dir() or rel is None or not rel.endswith(".py"):
                continue
            if info.file_size > MAX_REVIEW_BYTES:
                continue
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            written.append(target)
    return sorted(written)


@contextmanager
def server_provider(static_only: bool) -> Iterator[Provider | None]:
    """The model the server is configured for, or None (static review only)."""
    from codeforge.ai.local import xllamacpp_available
    from codeforge.ai.provider import open_provider
    from codeforge.ai.settings import load_ai_settings

    settings = load_ai_settings()
    available = bool(settings.base_url) or (settings.api_local and xllamacpp_available())
    if static_only or not available:
        yield None
        return
    with open_provider(settings) as provider:
        yield provider


def review_tree(
    data: bytes, provider: Provider | None, progress: Progress, *, timeout: float = 60.0
) -> TreeReview:
    """Review the Python files of a project's zip; progress per file (5 % to 90 %)."""
    from codeforge.ai.model_review import Options

    with tempfile.TemporaryDirectory(prefix="codeforge-review-job-") as tmp:
        root = Path(os.path.realpath(tmp))
        files = unpack_python(data, root)
        progress(5, f"static analysis of {len(files)} Python files")
        done = [0]

        def each(line: str) -> None:
            done[0] += 1
            percent = 10 + 80 * done[0] // max(1, len(files))
            progress(min(percent, 90), line.replace(f"{root}/", ""))

        options = Options(timeout=timeout, progress=each)
        report = review_report(files, provider, static_only=provider is None, options=options)
        doc = to_sarif(report.findings, root=root)
        validate_sarif(doc)
        report.notes = [n.replace(f"{root}/", "") for n in report.notes]
        report.not_reviewed = [p.replace(f"{root}/", "") for p in report.not_reviewed]
        report.findings = [
            f.model_copy(update={"file": f.file.replace(f"{root}/", "")}) for f in report.findings
        ]
    sarif = json.dumps(doc, indent=2).encode()
    return TreeReview(report, sarif, provider.model if provider else None, len(files))
