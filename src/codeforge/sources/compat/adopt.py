"""Projects made by copier or cruft (cookiecutter), adopted by ``codeforge update``.

The first update writes CodeForge's answers file; the other tool's file is left
where it is (it is then just a project file).
"""

from __future__ import annotations

import json
from pathlib import Path

from codeforge.core.answersfile import AnswersFile
from codeforge.errors import BlueprintError

COPIER_ANSWERS = ".copier-answers.yml"
CRUFT_FILE = ".cruft.json"


def from_copier(path: Path, project: Path) -> AnswersFile:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BlueprintError(f"cannot read copier's answers file: {exc}", where=str(path)) from exc
    if not isinstance(data, dict) or not isinstance(data.get("_src_path"), str):
        raise BlueprintError(
            "copier's answers file has no `_src_path`: the template's location is unknown",
            where=str(path),
        )
    commit = data.get("_commit")
    ref = _copier_ref(str(commit)) if commit is not None else None
    answers = {k: v for k, v in data.items() if isinstance(k, str) and not k.startswith("_")}
    return AnswersFile(
        blueprint_name="",
        blueprint_version="",
        source=_local_source(data["_src_path"], project),
        answers={"project_name": project.name, **answers},
        ref=ref,
        commit=None,
    )


def _local_source(source: str, project: Path) -> str:
    """A relative local path recorded by another tool, taken relative to the project."""
    if "://" in source or ":" in source.split("/", 1)[0] or Path(source).is_absolute():
        return source
    if source.startswith("~"):
        return str(Path(source).expanduser())
    return str((project / source).resolve())


def _copier_ref(commit: str) -> str:
    """copier writes `git describe --tags --always`: ``v1.2.0``, or ``v1.2.0-3-gabc1234``."""
    head, sep, sha = commit.rpartition("-g")
    if sep and head and all(c in "0123456789abcdef" for c in sha) and len(sha) >= 7:
        return sha
    return commit


def from_cruft(path: Path, project: Path) -> AnswersFile:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BlueprintError(f"cannot read cruft's file: {exc}", where=str(path)) from exc
    holder = data.get("context") if isinstance(data, dict) else None
    context = holder.get("cookiecutter") if isinstance(holder, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("template"), str):
        raise BlueprintError("cruft's file has no `template`", where=str(path))
    if not isinstance(context, dict):
        raise BlueprintError("cruft's file has no `context.cookiecutter`", where=str(path))
    answers = {k: v for k, v in context.items() if isinstance(k, str) and not k.startswith("_")}
    commit = data.get("commit")
    return AnswersFile(
        blueprint_name="",
        blueprint_version="",
        source=_local_source(data["template"], project),
        answers={"project_name": project.name, **answers},
        ref=str(commit) if commit else (str(data["checkout"]) if data.get("checkout") else None),
        commit=str(commit) if commit else None,
    )
