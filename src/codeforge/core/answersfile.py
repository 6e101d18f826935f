"""``.codeforge-answers.yml``: what a project was made from; where updates start."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from codeforge import __version__
from codeforge.core.errors import BlueprintError, NotFoundError

ANSWERS_FILE = ".codeforge-answers.yml"
HEADER = "# Written by CodeForge. It is what `codeforge update` starts from; edit with care.\n"


@dataclasses.dataclass
class AnswersFile:
    blueprint_name: str
    blueprint_version: str
    source: str
    answers: dict[str, Any]
    components: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    codeforge_version: str = __version__
    ref: str | None = None  # git sources: the tag/branch/commit the project was made from
    commit: str | None = None  # git sources: the full commit id

    def dump(self) -> bytes:
        """YAML text; values are written in JSON form (valid YAML) so no YAML emitter is needed."""
        lines = [
            HEADER.rstrip("\n"),
            "blueprint:",
            f"  name: {_scalar(self.blueprint_name)}",
            f"  version: {_scalar(self.blueprint_version)}",
            f"  source: {_scalar(self.source)}",
            *([f"  ref: {_scalar(self.ref)}"] if self.ref else []),
            *([f"  commit: {_scalar(self.commit)}"] if self.commit else []),
            f"codeforge_version: {_scalar(self.codeforge_version)}",
            "answers:" if self.answers else "answers: {}",
        ]
        lines += [f"  {_scalar(k)}: {_scalar(v)}" for k, v in self.answers.items()]
        if self.components:
            lines.append("components:")
            for comp in self.components:
                lines.append(f"  - kind: {_scalar(comp.get('kind'))}")
                lines.append(f"    answers: {_scalar(comp.get('answers', {}))}")
        else:
            lines.append("components: []")
        return ("\n".join(lines) + "\n").encode("utf-8")


_PLAIN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"})


def _scalar(value: Any) -> str:
    if isinstance(value, str) and _PLAIN_RE.match(value) and value.lower() not in _YAML_WORDS:
        return value
    return json.dumps(value, ensure_ascii=False)


def read_answers_file(project: Path) -> AnswersFile:
    """Read and check a project's answers file."""
    import yaml

    path = project / ANSWERS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(
            f"{project} has no {ANSWERS_FILE}; it was not made by CodeForge",
            hint="run the command inside a generated project, or pass -C PATH",
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BlueprintError(f"invalid YAML: {exc}", where=str(path)) from exc
    try:
        bp = data["blueprint"]
        answers = data.get("answers") or {}
        components = data.get("components") or []
        if not isinstance(answers, dict) or not isinstance(components, list):
            raise TypeError
        return AnswersFile(
            blueprint_name=str(bp["name"]),
            blueprint_version=str(bp["version"]),
            source=str(bp["source"]),
            answers=answers,
            components=components,
            codeforge_version=str(data.get("codeforge_version", "")),
            ref=str(bp["ref"]) if bp.get("ref") is not None else None,
            commit=str(bp["commit"]) if bp.get("commit") is not None else None,
        )
    except (KeyError, TypeError) as exc:
        raise BlueprintError(
            "malformed answers file (needs blueprint.name, .version, .source and answers)",
            where=str(path),
        ) from exc
