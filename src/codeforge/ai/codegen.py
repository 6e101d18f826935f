"""Generate code from a description, with the project's context; never writes unless asked.

The model answers under a JSON Schema (``{"code": ...}``), the code is checked
(Python: parses, then ``ruff format`` when ruff is installed) and returned with
a unified diff. :func:`write_generated` writes it, confined to the project.
"""

from __future__ import annotations

import ast
import difflib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from codeforge.ai.errors import AIAnswerError
from codeforge.ai.redact import is_secret_file
from codeforge.core.answersfile import ANSWERS_FILE
from codeforge.errors import ConflictError, SecurityError

if TYPE_CHECKING:
    from codeforge.ai.provider import Provider

MAX_CONTEXT_CHARS = 6000
CODE_SCHEMA = {
    "type": "object",
    "properties": {"code": {"type": "string"}},
    "required": ["code"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class GeneratedCode:
    """Code the model wrote, checked, with the diff it would make."""

    path: Path
    original: str
    content: str
    diff: str
    checks: list[str] = field(default_factory=list)


def ruff_command() -> list[str] | None:
    exe = shutil.which("ruff")
    if exe:
        return [exe]
    import importlib.util

    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    return None


def ruff_format(code: str, filename: str = "generated.py") -> str | None:
    """``code`` formatted by ruff, or None when ruff is missing or refuses it."""
    cmd = ruff_command()
    if cmd is None:
        return None
    proc = subprocess.run(
        [*cmd, "format", "--stdin-filename", filename, "-"],
        input=code,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return proc.stdout if proc.returncode == 0 else None


def project_context(project: Path, target: Path | None, limit: int = MAX_CONTEXT_CHARS) -> str:
    """Blueprint answers and nearby files, without secret files, capped in size."""
    parts: list[str] = []
    answers = project / ANSWERS_FILE
    if answers.is_file():
        parts.append(f"# {ANSWERS_FILE}\n{answers.read_text(encoding='utf-8', errors='replace')}")
    folder = target.parent if target else project
    if folder.is_dir():
        for path in sorted(folder.glob("*.py"))[:8]:
            if path == target or is_secret_file(path) or path.is_symlink():
                continue
            parts.append(f"# {path.relative_to(project)}\n{path.read_text(errors='replace')}")
    text = "\n\n".join(parts)
    return text[:limit]


def check_python(code: str, filename: str) -> tuple[str, list[str]]:
    """Parse then format ``code``; the checks that ran, or AIAnswerError."""
    try:
        ast.parse(code, filename=filename)
    except SyntaxError as exc:
        raise AIAnswerError(
            f"the generated code does not parse: {exc.msg} (line {exc.lineno})",
            hint="try again with a more precise description or a larger model",
        ) from exc
    checks = ["parses"]
    formatted = ruff_format(code, filename)
    if formatted is not None:
        code = formatted
        checks.append("ruff-format")
    return code, checks


def _confined(project: Path, target: Path) -> Path:
    root = project.resolve()
    resolved = (project / target).resolve() if not target.is_absolute() else target.resolve()
    if not resolved.is_relative_to(root):
        raise SecurityError(f"{target} is outside the project", where=str(project))
    if is_secret_file(resolved):
        raise SecurityError(f"refusing to write into a secret file: {target}")
    return resolved


def generate_code(
    provider: Provider,
    description: str,
    *,
    project: Path,
    into: Path | None = None,
    max_tokens: int = 512,
    repair: str | None = None,
) -> GeneratedCode:
    """Code for ``description``; appended to ``into`` when it exists, else a new file.

    ``repair`` is what went wrong with the previous attempt (its code and the failed
    checks' output): the model is asked for the corrected code.
    """
    target = _confined(project, into or Path("generated.py"))
    original = target.read_text(encoding="utf-8") if target.is_file() else ""
    context = project_context(project, target)
    messages = [
        {
            "role": "system",
            "content": "You write correct, idiomatic Python. Reply with JSON whose 'code' "
            "field holds only Python source, no Markdown fences.",
        },
        {
            "role": "user",
            "content": (
                f"Project context:\n{context}\n\n"
                + (f"Existing {target.name}:\n{original[:3000]}\n\n" if original else "")
                + f"Write: {description}"
            ),
        },
    ]
    if repair:
        messages.append(
            {
                "role": "user",
                "content": f"{repair}\n\nFix the code so that these checks pass. Reply with "
                "the complete corrected code for the same request.",
            }
        )
    data, _ = provider.complete_json(
        messages, CODE_SCHEMA, max_tokens=max_tokens, schema_name="code"
    )
    code = str(data["code"]).strip("\n") + "\n"
    checks: list[str] = []
    if target.suffix == ".py":
        combined = (original.rstrip("\n") + "\n\n\n" + code) if original.strip() else code
        content, checks = check_python(combined, target.name)
    else:
        content = (original + "\n" + code) if original else code
    rel = os.path.relpath(target, project.resolve())
    diff = "".join(
        difflib.unified_diff(
            original.splitlines(keepends=True),
            content.splitlines(keepends=True),
            fromfile=f"a/{rel}",
            tofile=f"b/{rel}",
        )
    )
    return GeneratedCode(target, original, content, diff, checks)


def write_generated(gen: GeneratedCode) -> None:
    """Write ``gen`` atomically; refuses when the file changed since it was read."""
    current = gen.path.read_text(encoding="utf-8") if gen.path.is_file() else ""
    if current != gen.original:
        raise ConflictError(f"{gen.path} changed since the code was generated")
    gen.path.parent.mkdir(parents=True, exist_ok=True)
    tmp = gen.path.with_name(f".{gen.path.name}.{os.getpid()}.tmp")
    tmp.write_text(gen.content, encoding="utf-8")
    os.replace(tmp, gen.path)
