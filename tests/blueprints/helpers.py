"""Shared helpers for the built-in blueprint tests: run the CLI in-process, list files."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

BUILTINS = ("web-fastapi", "cli-click", "lib-python")
ANSWERS_FILE = ".codeforge-answers.yml"


@dataclass
class Result:
    exit_code: int
    output: str


def codeforge(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run ``codeforge ARGS`` in-process, with the CLI's real exit-code mapping."""
    from codeforge.cli.main import run

    runner = CliRunner()
    with runner.isolation(env=env) as streams:
        try:
            run(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out = streams[0].getvalue().decode()
        err = streams[1].getvalue().decode() if streams[1] is not None else ""
    return Result(code, out + err)


def init(blueprint: str, name: str, out: Path, data: dict[str, str] | None = None) -> Path:
    """Generate ``out/name`` from a built-in blueprint with defaults plus ``data``."""
    args = ["init", name, "-t", blueprint, "-o", str(out), "--defaults", "--no-git"]
    for key, value in (data or {}).items():
        args += ["--data", f"{key}={value}"]
    result = codeforge(*args)
    assert result.exit_code == 0, result.output
    project = out / name
    assert project.is_dir(), result.output
    return project


def generate(project: Path, kind: str, name: str) -> Result:
    return codeforge("generate", kind, name, "-C", str(project))


def files(root: Path) -> set[str]:
    """Every file under ``root`` as a POSIX relative path."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def tool(name: str) -> str | None:
    """A command installed next to the running interpreter, else on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    return shutil.which(name)
