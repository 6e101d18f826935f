"""``.codeforge-answers.yml``: what a project was made from; where updates start."""

from __future__ import annotations

import dataclasses
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

    def dump(self) -> bytes:
        import yaml

        data = {
            "blueprint": {
                "name": self.blueprint_name,
                "version": self.blueprint_version,
                "source": self.source,
            },
            "codeforge_version": self.codeforge_version,
            "answers": self.answers,
            "components": self.components,
        }
        body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
        return (HEADER + body).encode("utf-8")


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
        )
    except (KeyError, TypeError) as exc:
        raise BlueprintError(
            "malformed answers file (needs blueprint.name, .version, .source and answers)",
            where=str(path),
        ) from exc
