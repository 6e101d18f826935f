"""Code from a foreign template: cookiecutter hooks and copier tasks.

Both run only for a trusted source, as argv lists (never through a shell), in the
staging folder, with a minimal environment and a timeout. A hook is rendered
with the answers first, as cookiecutter does: that is the one place answers
reach code as text, and it happens only because the user trusted the template.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import stat
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from codeforge.core.postprocess import TaskError, run_command
from codeforge.errors import SecurityError

TRUST_HINT = (
    "pass --trust if you trust this template's source, or add it to trusted_sources in the config"
)
_SHELL_SYNTAX = ("|", "&", ";", "<", ">", "$(", "`", "*", "?", "~")


@dataclasses.dataclass(frozen=True)
class ScriptHook:
    stage: str
    path: Path


def find_scripts(folder: Path, stages: Sequence[str]) -> list[ScriptHook]:
    """cookiecutter's rule: ``hooks/STAGE.*`` (no backups ending in ``~``), sorted."""
    if not folder.is_dir():
        return []
    found = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        stem = os.path.splitext(entry.name)[0]
        if stem in stages and not entry.name.endswith("~") and entry.is_file():
            path = Path(entry.path)
            if not path.resolve().is_relative_to(folder.resolve()):
                raise SecurityError(f"the hook {entry.name} links outside the template")
            found.append(ScriptHook(stem, path))
    return found


def refuse_untrusted(what: Sequence[str], root: Path) -> SecurityError:
    names = ", ".join(what)
    return SecurityError(
        f"the template runs code on your machine ({names}); it was not run",
        where=str(root),
        hint=TRUST_HINT,
    )


def run_scripts(
    scripts: Sequence[ScriptHook],
    cwd: Path,
    *,
    trusted: bool,
    render: Callable[[str, str], str],
    root: Path,
    info: Callable[[str], None],
) -> None:
    """Render each hook with the answers and run it in ``cwd``; a failure stops the run."""
    if not scripts:
        return
    if not trusted:
        raise refuse_untrusted([f"hooks/{s.path.name}" for s in scripts], root)
    for script in scripts:
        origin = f"hooks/{script.path.name}"
        try:
            source = script.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TaskError(f"{origin}: cannot read: {exc}") from exc
        text = render(source, origin)
        with tempfile.TemporaryDirectory(prefix="codeforge-hook-") as scratch:
            target = Path(scratch, script.path.name)
            target.write_text(text, encoding="utf-8")
            if target.suffix == ".py":
                argv = [sys.executable, str(target)]
            else:
                target.chmod(target.stat().st_mode | stat.S_IXUSR)
                argv = [str(target)]
            info(f"running hook {origin}")
            _run(argv, cwd, origin, {})


_JINJA_SPAN = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


def split_command(command: Any, origin: str) -> list[str]:
    """A task's argv: a list as written, or a string split like a shell would, without one.

    Jinja expressions are kept whole (``touch {{ name }}.txt`` is two arguments) and
    rendered afterwards, one argument at a time, so an answer never becomes syntax.
    """
    if isinstance(command, list):
        return [str(part) for part in command]
    if not isinstance(command, str):
        raise TaskError(f"{origin}: expected a command string or list")
    spans: list[str] = []

    def hold(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\x00{len(spans) - 1}\x00"

    protected = _JINJA_SPAN.sub(hold, command)
    if any(token in protected for token in _SHELL_SYNTAX):
        raise TaskError(
            f"{origin}: `{command}` uses shell syntax; CodeForge runs tasks as argument "
            "lists, never through a shell",
            hint="write the task as a list (command: [prog, arg, ...]) or move it into a script",
        )
    try:
        parts = shlex.split(protected)
    except ValueError as exc:
        raise TaskError(f"{origin}: cannot split `{command}`: {exc}") from exc
    return [re.sub("\x00(\\d+)\x00", lambda m: spans[int(m.group(1))], p) for p in parts]


def run_argv(argv: Sequence[str], cwd: Path, origin: str, env: Mapping[str, str]) -> None:
    _run(list(argv), cwd, origin, env)


def _run(argv: list[str], cwd: Path, origin: str, env: Mapping[str, str]) -> None:
    if not argv or not argv[0]:
        raise TaskError(f"{origin}: the command is empty")
    try:
        status, tail = run_command(argv, cwd, origin, env)
    except PermissionError as exc:
        raise TaskError(f"{origin}: cannot run {argv[0]}: {exc.strerror}") from exc
    except OSError as exc:
        raise TaskError(f"{origin}: cannot run (missing shebang?): {exc.strerror}") from exc
    if status != 0:
        raise TaskError(f"{origin} failed (exit status {status}): {tail}")
