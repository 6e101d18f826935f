"""After rendering: named formatters (a plan transform) and trusted tasks (in staging).

``TaskError`` and ``minimal_env`` live in ``core/commands.py`` (re-exported here).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from codeforge.core.commands import TaskError, minimal_env
from codeforge.core.lifecycle import RenderEvent
from codeforge.core.plan import RenderPlan
from codeforge.errors import SecurityError

if TYPE_CHECKING:
    from codeforge.templates.sections import Task

__all__ = [
    "TASK_TIMEOUT",
    "CommandFormatter",
    "Formatter",
    "PostProcessor",
    "TaskError",
    "apply_formatters",
    "apply_post_processors",
    "minimal_env",
    "plain",
    "run_command",
    "run_tasks",
]

TASK_TIMEOUT = 300.0


# Changes a rendered plan in place before any sink sees it (every blueprint, every sink).
PostProcessor = Callable[[RenderPlan, RenderEvent], None]
# A formatter a blueprint names in its `formatters:` list; `warn` takes non-fatal problems.
Formatter = Callable[[RenderPlan, Callable[[str], None]], None]


class CommandFormatter:
    """A formatter that runs a command over the plan's files in a scratch folder.

    A plain class (two are made at import on every run; a dataclass compiles its methods).
    """

    __slots__ = ("args", "executable", "name", "suffixes")

    def __init__(
        self, name: str, executable: str, args: tuple[str, ...], suffixes: tuple[str, ...]
    ) -> None:
        self.name = name
        self.executable = executable
        self.args = args
        self.suffixes = suffixes  # the files it touches

    def __repr__(self) -> str:
        return f"CommandFormatter({self.name!r}, {self.executable!r}, {self.args!r})"

    def __call__(self, plan: RenderPlan, warn: Callable[[str], None]) -> None:
        """Format the plan's matching files; a missing command or a failure is a warning."""
        exe = shutil.which(self.executable)
        if exe is None:
            warn(f"formatter {self.name} skipped: {self.executable} is not installed")
            return
        targets = [f for f in plan.files if not f.binary and f.path.endswith(self.suffixes)]
        if not targets:
            return
        import subprocess  # here, not at the top: most runs start no process

        with tempfile.TemporaryDirectory(prefix="codeforge-fmt-") as scratch:
            for f in plan.files:  # config files (pyproject.toml) shape the formatter's output
                if f.binary:
                    continue
                target = Path(scratch, f.path)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(f.content)
            proc = subprocess.run(
                [exe, *self.args],
                cwd=scratch,
                capture_output=True,
                text=True,
                timeout=TASK_TIMEOUT,
                env=minimal_env(),
                stdin=subprocess.DEVNULL,
                check=False,
            )
            if proc.returncode != 0:
                warn(
                    f"formatter {self.name} reported: {(proc.stderr or proc.stdout).strip()[:300]}"
                )
                return
            for f in targets:
                f.content = Path(scratch, f.path).read_bytes()


BUILTIN_FORMATTERS: Mapping[str, Formatter] = MappingProxyType(
    {
        f.name: f
        for f in (
            CommandFormatter(
                "ruff-format", "ruff", ("format", "--quiet", "--no-cache", "."), (".py", ".pyi")
            ),
            CommandFormatter(
                "ruff-fix",
                "ruff",
                ("check", "--fix-only", "--quiet", "--no-cache", "--exit-zero", "."),
                (".py", ".pyi"),
            ),
        )
    }
)


def apply_formatters(
    plan: RenderPlan,
    names: Sequence[str],
    warn: Callable[[str], None],
    formatters: Mapping[str, Formatter] = BUILTIN_FORMATTERS,
) -> None:
    """Run each named formatter over the plan, in the blueprint's order."""
    for name in names:
        formatter = formatters.get(name)
        if formatter is None:
            warn(f"formatter {name} skipped: no installed plugin provides it")
            continue
        formatter(plan, warn)


def apply_post_processors(
    plan: RenderPlan, event: RenderEvent, post_processors: Sequence[PostProcessor]
) -> None:
    """Let each post-processor change the plan, in order."""
    for process in post_processors:
        process(plan, event)


def run_tasks(
    tasks: Sequence[Task],
    cwd: Path,
    *,
    trusted: bool,
    render: Callable[[str, str], str],
    truth: Callable[[str, str], bool],
    answers_json: str,
    info: Callable[[str], None],
) -> None:
    """Run the blueprint's tasks as argv lists in ``cwd``; refuse when not trusted."""
    if not tasks:
        return
    if not trusted:
        raise SecurityError(
            f"this blueprint declares {len(tasks)} task(s), which run commands on your machine",
            hint="pass --trust if you trust its source, or add it to trusted_sources in the config",
        )
    for index, task in enumerate(tasks):
        origin = f"tasks[{index}]"
        if task.when is not None and not truth(task.when, origin):
            continue
        argv = [render(arg, origin) for arg in task.command]
        info(f"running task: {' '.join(argv)}")
        status, tail = run_command(argv, cwd, origin, {"CODEFORGE_ANSWERS": answers_json})
        if status != 0:
            raise TaskError(f"{origin}: `{' '.join(argv)}` exited with {status}: {tail}")


def run_command(
    argv: Sequence[str], cwd: Path, origin: str, env: Mapping[str, str]
) -> tuple[int, str]:
    """Run ``argv`` (no shell) in ``cwd`` with a minimal environment plus ``env``.

    Returns the exit status and the end of its output. A missing command or the
    timeout is a :class:`TaskError`; other OS errors are left to the caller.
    """
    import subprocess  # here, not at the top: most runs start no process

    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=minimal_env(dict(env)),
            capture_output=True,
            text=True,
            timeout=TASK_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except FileNotFoundError as exc:
        raise TaskError(f"{origin}: command not found: {argv[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise TaskError(f"{origin}: took longer than {TASK_TIMEOUT:g} s") from exc
    if proc.returncode != 0:
        return proc.returncode, (proc.stderr or proc.stdout).strip()[-500:]
    return 0, ""


def plain(value: Any) -> Any:
    """Check the render context holds plain data only (threat model, surface 1)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    raise SecurityError(f"non-plain value of type {type(value).__name__} in the render context")
