"""Every CI file a built-in blueprint can emit passes its provider's validator.

Each built-in blueprint with ``ci`` = github, gitlab and jenkins (and, for
web-fastapi, with and without ``use_docker``) is generated and its CI file checked
by actionlint, check-jsonschema's builtin GitLab CI schema, or npm-groovy-lint
(tests/blueprints/ci_files.py), one call per tool. Marked ``slow`` (npm-groovy-lint
starts a JVM).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from ci_support import skip_unless_ci

from .ci_files import CI_FILES, emitted, validators
from .helpers import BUILTINS, init

pytestmark = pytest.mark.slow

PROVIDERS = ("github", "gitlab", "jenkins")


def _variants(blueprint: str) -> list[dict[str, str]]:
    docker = ("true", "false") if blueprint == "web-fastapi" else (None,)
    return [
        {"ci": ci, "python_version": "3.12"} | ({"use_docker": d} if d else {})
        for ci in PROVIDERS
        for d in docker
    ]


def test_every_emitted_ci_file_validates(tmp_path: Path) -> None:
    files: dict[str, list[Path]] = {provider: [] for provider in PROVIDERS}
    for blueprint in BUILTINS:
        for index, data in enumerate(_variants(blueprint)):
            project = init(blueprint, f"p-{blueprint}-{index}", tmp_path, data)
            found = emitted(project)
            assert set(found) == {data["ci"]}, f"{blueprint} {data}: {sorted(found)}"
            files[data["ci"]] += found[data["ci"]]
            text = (project / CI_FILES[data["ci"]]).read_text()
            docker = "docker build" in text or "docker/build-push-action" in text
            assert docker == (data.get("use_docker") == "true"), f"{blueprint} {data}"
    try:
        commands = validators(files)
    except LookupError as exc:
        skip_unless_ci(str(exc))
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, f"{command[0]} failed:\n{done.stdout[-6000:]}{done.stderr}"


def test_ci_none_emits_no_ci_file(tmp_path: Path) -> None:
    for blueprint in BUILTINS:
        project = init(blueprint, f"p-{blueprint}", tmp_path, {"ci": "none"})
        assert emitted(project) == {}, blueprint
