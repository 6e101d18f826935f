"""The metric names CodeForge exports, read from its own registry, for checking that
alert rules and dashboards only ask for what exists."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.ci_support import skip_unless_ci

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
METRIC_RE = re.compile(r"\bcodeforge_[a-z_]+\b")
# the sample names each metric type exposes besides its family name
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gauge": ("",),
}


def exported_families() -> dict[str, str]:
    """Family name -> type, for every metric the API and the workers export."""
    from codeforge.app.metrics import Metrics
    from codeforge.app.observe import StateCollector

    families = {f.name: f.type for f in Metrics.create().registry.collect()}
    families.update({f.name: f.type for f in StateCollector.describe(None)})  # type: ignore[arg-type]
    return families


def exported_samples() -> set[str]:
    return {name + s for name, kind in exported_families().items() for s in SUFFIXES[kind]}


def metrics_in(text: str) -> set[str]:
    return set(METRIC_RE.findall(text))


def tool(name: str) -> str:
    """The path of a Debian tool CI installs (skip here without it; fail under CI)."""
    found = shutil.which(name)
    if found is None:
        skip_unless_ci(f"{name} is not installed (Debian package: see .ci/run)")
    return found
