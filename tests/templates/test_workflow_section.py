"""The `workflow:` section of a definition: its model, its errors, and its JSON Schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from codeforge.errors import BlueprintError
from codeforge.templates.definition import read_definition
from codeforge.templates.validation import build_blueprint
from codeforge.templates.workflow import STAGES, WORKFLOW_SCHEMA, WorkflowStep

ROOT = Path(__file__).resolve().parents[2]
BUILTIN = ROOT / "src" / "codeforge" / "templates" / "builtin"
HEAD = "name: x\nversion: 1.0.0\n"


def build(tmp_path: Path, text: str, suffix: str = ".yaml") -> object:
    path = tmp_path / f"blueprint{suffix}"
    path.write_text(text, encoding="utf-8")
    data, locate = read_definition(path)
    return build_blueprint(data, locate, root=tmp_path, definition=path, content_hash="x")


def test_steps_are_read_in_stage_order(tmp_path: Path) -> None:
    bp = build(
        tmp_path,
        HEAD
        + "workflow:\n"
        + "  publish:\n    - action: package.upload\n      with: {repository_url: '{{ idx }}'}\n"
        + "  verify:\n    - run: [ruff, check, .]\n      env: {A: '1'}\n      timeout: 5\n",
    )
    workflow = bp.workflow  # type: ignore[attr-defined]
    assert workflow.declared() == ("verify", "publish")
    assert workflow.stages["verify"] == (
        WorkflowStep(run=("ruff", "check", "."), env={"A": "1"}, timeout=5.0),
    )
    step = workflow.stages["publish"][0]
    assert (step.action, dict(step.inputs), step.label) == (
        "package.upload",
        {"repository_url": "{{ idx }}"},
        "package.upload",
    )


def test_toml_definitions_hold_a_workflow_too(tmp_path: Path) -> None:
    text = 'name = "x"\nversion = "1.0.0"\n\n[[workflow.build]]\naction = "package.build"\n'
    bp = build(tmp_path, text, ".toml")
    assert bp.workflow.declared() == ("build",)  # type: ignore[attr-defined]


BAD = {
    "unknown stage": ("workflow:\n  test:\n    - run: [x]\n", 4, "workflow.test: unknown key"),
    "stage not a list": ("workflow:\n  verify: pytest\n", 4, "workflow.verify: expected a list"),
    "both run and action": (
        "workflow:\n  verify:\n    - run: [x]\n      action: package.build\n",
        5,
        "workflow.verify.0: a step needs exactly one of `run` (a command) or `action`",
    ),
    "neither": (
        "workflow:\n  verify:\n    - name: nothing\n",
        5,
        "workflow.verify.0: a step needs exactly one",
    ),
    "empty command": ("workflow:\n  verify:\n    - run: []\n", 5, "workflow.verify.0.run: the"),
    "command as a string": (
        "workflow:\n  verify:\n    - run: pytest -q\n",
        5,
        "workflow.verify.0.run: expected a list of strings",
    ),
    "bad action name": (
        "workflow:\n  build:\n    - action: 'Docker Build'\n",
        5,
        "workflow.build.0.action: 'Docker Build' is not a valid action name",
    ),
    "unknown step key": (
        "workflow:\n  build:\n    - action: package.build\n      args: [x]\n",
        6,
        "workflow.build.0.args: unknown key",
    ),
    "input not a scalar": (
        "workflow:\n  build:\n    - action: package.build\n      with:\n        a: [1]\n",
        7,
        "workflow.build.0.with.a: expected a string, number or boolean",
    ),
    "bad env name": (
        "workflow:\n  verify:\n    - run: [x]\n      env: {'A-B': '1'}\n",
        6,
        "workflow.verify.0.env.A-B: 'A-B' is not an environment variable name",
    ),
    "env value not a string": (
        "workflow:\n  verify:\n    - run: [x]\n      env: {A: 1}\n",
        6,
        "workflow.verify.0.env.A: expected a string",
    ),
    "zero timeout": (
        "workflow:\n  verify:\n    - run: [x]\n      timeout: 0\n",
        6,
        "workflow.verify.0.timeout: must be above 0",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_sections_name_file_line_and_key(tmp_path: Path, case: str) -> None:
    text, line, fragment = BAD[case]
    with pytest.raises(BlueprintError) as info:
        build(tmp_path, HEAD + text)
    assert info.value.where == f"blueprint.yaml:{line}"
    assert fragment in info.value.message
    # The JSON Schema refuses the same section.
    section = yaml.safe_load(HEAD + text)["workflow"]
    assert not jsonschema.Draft202012Validator(WORKFLOW_SCHEMA).is_valid(section)


@pytest.mark.parametrize("name", ["cli-click", "lib-python", "web-fastapi"])
def test_builtin_workflows_match_the_schema(name: str) -> None:
    data = yaml.safe_load((BUILTIN / name / "blueprint.yaml").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(WORKFLOW_SCHEMA).validate(data["workflow"])
    assert list(data["workflow"]) == [s for s in STAGES if s in data["workflow"]]
    assert "verify" in data["workflow"]


def test_the_documented_schema_is_the_one_in_the_code() -> None:
    text = (ROOT / "docs" / "blueprint-format.md").read_text(encoding="utf-8")
    section = text.split("## Workflow", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```json\n(.*?)```", section, re.S)
    assert [json.loads(b) for b in blocks] == [WORKFLOW_SCHEMA]
    jsonschema.Draft202012Validator.check_schema(WORKFLOW_SCHEMA)
