"""``.codeforge-answers.yml``: what a project was made from; where updates start."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from codeforge import __version__
from codeforge.errors import NotFoundError, ValidationError

ANSWERS_FILE = ".codeforge-answers.yml"
MAX_ANSWERS_FILE_BYTES = 1024 * 1024
# How a yes/no answer given as text reads (also the container actions' yes/no inputs).
TRUE_WORDS = frozenset({"true", "yes", "y", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "off", "0", ""})
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
    dialect: str | None = None  # the format used, when the template ships several definitions

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
            *([f"  dialect: {_scalar(self.dialect)}"] if self.dialect else []),
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
    """Read and check ``project``'s answers file (the one reader: size capped, no YAML aliases)."""
    path = project / ANSWERS_FILE
    if not project.is_dir():
        raise NotFoundError(f"{project} is not a folder")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(
            f"{project} has no {ANSWERS_FILE}; it was not made by CodeForge",
            hint="run the command inside a generated project, or pass its path",
        ) from None
    except OSError as exc:
        raise _invalid(f"cannot read the answers file: {exc.strerror}", path) from exc
    if len(raw) > MAX_ANSWERS_FILE_BYTES:
        raise _invalid(f"answers file is larger than {MAX_ANSWERS_FILE_BYTES} bytes", path)
    return _answers_from(_parse(raw, path), path)


def _invalid(message: str, path: Path, line: int | None = None) -> ValidationError:
    return ValidationError(message, where=f"{path}:{line}" if line is not None else str(path))


def _parse(raw: bytes, path: Path) -> Any:
    import yaml

    try:
        text = raw.decode("utf-8")
        # Aliases can make a small file expand enormously once loaded; the answers
        # file CodeForge writes never uses them.
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else None
                raise _invalid("YAML aliases are not allowed in the answers file", path, line)
        return yaml.safe_load(text)
    except UnicodeDecodeError as exc:
        raise _invalid("answers file is not UTF-8", path) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or exc
        raise _invalid(f"invalid YAML: {problem}", path, line) from exc


def _answers_from(data: Any, path: Path) -> AnswersFile:
    if not isinstance(data, dict):
        raise _invalid("the answers file must be a mapping", path)
    blueprint = data.get("blueprint")
    if not isinstance(blueprint, dict):
        raise _invalid("missing 'blueprint' mapping (name, version, source)", path)
    fields: dict[str, str] = {}
    for key in ("name", "version", "source"):
        value = blueprint.get(key)
        if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
            raise _invalid(f"'blueprint.{key}' must be a non-empty string", path)
        fields[key] = str(value)
    answers = data.get("answers") or {}
    if not isinstance(answers, dict) or not all(isinstance(k, str) for k in answers):
        raise _invalid("'answers' must be a mapping of names to values", path)
    components = data.get("components") or []
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise _invalid("'components' must be a list of mappings", path)
    ref, commit = blueprint.get("ref"), blueprint.get("commit")
    dialect = blueprint.get("dialect")
    if dialect is not None and (not isinstance(dialect, str) or not dialect):
        raise _invalid("'blueprint.dialect' must be a non-empty string", path)
    return AnswersFile(
        blueprint_name=fields["name"],
        blueprint_version=fields["version"],
        source=fields["source"],
        answers=answers,
        components=components,
        codeforge_version=str(data.get("codeforge_version", "")),
        ref=str(ref) if ref is not None else None,
        commit=str(commit) if commit is not None else None,
        dialect=dialect,
    )
