"""The latest ``review`` job of a project and its findings, as the project's web page shows them.

The findings come from the job's SARIF log (the job's result artifact, see
:mod:`codeforge.app.server_review`): rule, file and line, severity and message of each
result, most severe first, at most :data:`MAX_SHOWN`. Nothing here trusts the log's
shape: a field of the wrong type is shown as empty, never raised.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any, Final

from codeforge.app import jobstore
from codeforge.app.context import AppContext
from codeforge.errors import NotFoundError

if TYPE_CHECKING:
    from codeforge.db.models import Job

MAX_SHOWN: Final = 200
MAX_LOG_BYTES: Final = 8 * 1024 * 1024
SEVERITY_ORDER: Final = ("critical", "high", "medium", "low")
_LEVEL_SEVERITY: Final = {"error": "high", "warning": "medium", "note": "low"}


@dataclasses.dataclass(frozen=True)
class Finding:
    """One result of the log, as plain text."""

    rule: str
    file: str
    line: int
    severity: str
    message: str


@dataclasses.dataclass(frozen=True)
class LatestReview:
    """The newest review job of a project; its findings once it finished."""

    job: Job
    findings: list[Finding]
    total: int  # results in the log (more than shown when over MAX_SHOWN)
    expired: bool  # finished, but its SARIF log is gone


def latest_review(ctx: AppContext, owner_id: int | None, project_id: int) -> LatestReview | None:
    """The newest ``review`` job of project ``project_id`` (reviews are run by the project's
    owner, ``owner_id``), or None when it was never reviewed (or has no owner to review it)."""
    if owner_id is None:
        return None
    with ctx.read() as session:
        job = jobstore.latest_for_project(session, owner_id, "review", project_id)
    if job is None:
        return None
    if job.status != "finished":
        return LatestReview(job, [], 0, expired=False)
    try:
        results = _results(ctx, job)
    except NotFoundError:
        return LatestReview(job, [], 0, expired=True)
    findings = sorted(map(_finding, results), key=_rank)
    return LatestReview(job, findings[:MAX_SHOWN], len(findings), expired=False)


def _results(ctx: AppContext, job: Job) -> list[Any]:
    """The ``results`` of the job's SARIF log (NotFoundError when the log expired)."""
    if job.artifact_id is None:
        raise NotFoundError(f"the result of job {job.id} has expired", where="job")
    store = ctx.artifacts.results
    if store.size(job.artifact_id) > MAX_LOG_BYTES:
        return []
    with store.open(job.artifact_id) as stream:
        doc = json.loads(stream.read())
    runs = doc.get("runs") if isinstance(doc, dict) else None
    found: list[Any] = []
    for run in runs if isinstance(runs, list) else []:
        results = run.get("results") if isinstance(run, dict) else None
        found.extend(results if isinstance(results, list) else [])
    return found


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _get(value: object, *keys: str | int) -> object:
    """``value[k1][k2]...``, or None as soon as a step is missing or of another type."""
    for key in keys:
        if isinstance(key, int) and isinstance(value, list) and len(value) > key:
            value = value[key]
        elif isinstance(key, str) and isinstance(value, dict):
            value = value.get(key)
        else:
            return None
    return value


def _finding(result: object) -> Finding:
    location = _get(result, "locations", 0, "physicalLocation")
    line = _get(location, "region", "startLine")
    severity = _text(_get(result, "properties", "severity"))
    if severity not in SEVERITY_ORDER:
        severity = _LEVEL_SEVERITY.get(_text(_get(result, "level")), "low")
    return Finding(
        rule=_text(_get(result, "ruleId")),
        file=_text(_get(location, "artifactLocation", "uri")),
        line=line if isinstance(line, int) and not isinstance(line, bool) else 0,
        severity=severity,
        message=_text(_get(result, "message", "text")),
    )


def _rank(finding: Finding) -> tuple[int, str, int]:
    return SEVERITY_ORDER.index(finding.severity), finding.file, finding.line
