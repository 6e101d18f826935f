"""``ai generate --test CMD``: run checks on the generated code and let the model repair it.

Each round puts the candidate into a private copy of the project (the project itself
is never touched until the user accepts the result), runs ``ruff check`` on the target
(errors only: syntax, undefined names, unused imports ``E9,F``) and the test command in
the copy, and feeds what failed back to the model for at most ``rounds`` more tries.
Without ``--test``, the target's own tests run when the project has them
(``test_NAME.py`` or ``NAME_test.py`` for a target ``NAME.py``), with pytest.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from codeforge.ai.codegen import GeneratedCode, generate_code, ruff_command
from codeforge.ai.errors import AIAnswerError
from codeforge.errors import UsageError

if TYPE_CHECKING:
    from codeforge.ai.provider import Provider

DEFAULT_ROUNDS: Final = 2
FEEDBACK_CHARS: Final = 3000
TEST_TIMEOUT: Final = 300.0
_SKIP: Final = shutil.ignore_patterns(
    ".git", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache"
)


@dataclass(frozen=True)
class Check:
    """One check of one round: its name, whether it passed, and its output's tail."""

    name: str
    passed: bool
    output: str = ""


@dataclass
class Round:
    """One attempt: the candidate (None when the answer was unusable) and its checks."""

    number: int
    gen: GeneratedCode | None
    checks: list[Check] = field(default_factory=list)
    error: str = ""

    @property
    def passed(self) -> bool:
        return self.gen is not None and all(c.passed for c in self.checks)

    def summary(self) -> str:
        if self.gen is None:
            return f"round {self.number}: no usable code ({self.error})"
        said = ", ".join(f"{c.name} {'passed' if c.passed else 'failed'}" for c in self.checks)
        return f"round {self.number}: {said or 'no checks'}"


@dataclass
class Repaired:
    """The rounds tried; the last candidate is the answer."""

    rounds: list[Round]
    command: list[str]

    @property
    def final(self) -> Round:
        return self.rounds[-1]

    @property
    def passed(self) -> bool:
        return self.final.passed


def own_tests(project: Path, target: Path) -> list[Path]:
    """The project's tests of ``target`` by name: ``test_NAME.py`` or ``NAME_test.py``."""
    names = {f"test_{target.stem}.py", f"{target.stem}_test.py"}
    found = []
    for path in sorted(project.rglob("*.py")):
        rel = path.relative_to(project)
        if path.name in names and not any(p in rel.parts for p in ("venv", ".venv", ".git")):
            found.append(path)
    return found


def test_command(project: Path, target: Path, given: str | None) -> list[str]:
    """The command each round runs: ``--test CMD`` (split like a shell, no shell), else
    pytest on the target's own tests, else none (ruff only)."""
    if given is not None:
        try:
            argv = shlex.split(given)
        except ValueError as exc:
            raise UsageError(f"--test: {exc}", where="--test") from None
        if not argv:
            raise UsageError("--test needs a command", where="--test")
        return argv
    tests = own_tests(project, target)
    if not tests:
        return []
    return [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-x",
        *(str(t.relative_to(project)) for t in tests),
    ]


def _tail(text: str) -> str:
    return text[-FEEDBACK_CHARS:].strip()


def run_checks(project: Path, gen: GeneratedCode, command: Sequence[str]) -> list[Check]:
    """ruff and ``command`` on ``gen`` in a private copy of ``project``."""
    checks = []
    with tempfile.TemporaryDirectory(prefix="codeforge-repair-") as tmp:
        copy = Path(tmp) / project.name
        shutil.copytree(project, copy, symlinks=True, ignore=_SKIP)
        target = copy / gen.path.relative_to(project.resolve())
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(gen.content, encoding="utf-8")
        ruff = ruff_command()
        if ruff is not None and target.suffix == ".py":
            proc = subprocess.run(
                [*ruff, "check", "--isolated", "--no-cache", "--select", "E9,F",
                 "--output-format", "concise", str(target)],
                capture_output=True, text=True, timeout=60, check=False, cwd=copy,
            )  # fmt: skip
            out = proc.stdout.replace(f"{copy}/", "")
            checks.append(Check("ruff", proc.returncode == 0, _tail(out)))
        if command:
            try:
                proc = subprocess.run(
                    list(command), capture_output=True, text=True, timeout=TEST_TIMEOUT,
                    check=False, cwd=copy, stdin=subprocess.DEVNULL,
                )  # fmt: skip
                out = (proc.stdout + proc.stderr).replace(f"{copy}/", "")
                checks.append(Check("tests", proc.returncode == 0, _tail(out)))
            except FileNotFoundError:
                raise UsageError(f"--test: command not found: {command[0]}") from None
            except subprocess.TimeoutExpired:
                checks.append(Check("tests", False, f"timed out after {TEST_TIMEOUT:g} s"))
    return checks


def feedback(round_: Round) -> str:
    """What failed in ``round_``, for the model."""
    if round_.gen is None:
        return f"Your previous answer was unusable: {round_.error}"
    failed = [c for c in round_.checks if not c.passed]
    parts = [f"{c.name} failed:\n{c.output}" for c in failed]
    return "Your previous code:\n" + round_.gen.content[-4000:] + "\n\n" + "\n\n".join(parts)


def generate_repaired(
    provider: Provider,
    description: str,
    *,
    project: Path,
    into: Path | None,
    test: str | None,
    rounds: int = DEFAULT_ROUNDS,
    say: Callable[[str], None] = lambda _line: None,
    max_tokens: int = 512,
) -> Repaired:
    """Generate, check, and repair up to ``rounds`` more times; every round is kept."""
    target = (project / (into or Path("generated.py"))).resolve()
    command = test_command(project.resolve(), target, test)
    done: list[Round] = []
    for number in range(1, rounds + 2):
        hint = feedback(done[-1]) if done else None
        try:
            gen = generate_code(
                provider, description, project=project, into=into, max_tokens=max_tokens,
                repair=hint,
            )  # fmt: skip
        except AIAnswerError as exc:  # cut off, off the schema, or code that does not parse
            done.append(Round(number, None, error=exc.message))
            say(done[-1].summary())
            continue
        done.append(Round(number, gen, run_checks(project.resolve(), gen, command)))
        say(done[-1].summary())
        if done[-1].passed:
            break
    return Repaired(done, command)


def describe_command(command: Sequence[str]) -> str:
    """The command as the user would type it."""
    return " ".join(shlex.quote(os.fspath(a)) for a in command)
