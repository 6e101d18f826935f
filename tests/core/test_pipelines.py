"""Bad ``pipeline`` keys in a blueprint definition: each a clear error naming the file and key.

The shape is checked when the definition loads (file and line); what the Jinja
values render to (the provider, the Python version, docker) is checked when the
project is rendered, before anything is written, with the definition file named.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from blueprint_factory import make_blueprint

from codeforge.core.engine import SDLCEngine
from codeforge.errors import BlueprintError
from codeforge.templates.loader import load_blueprint

HEAD = "name: x\nversion: 1.0.0\n"

# case -> (the `pipeline` part of blueprint.yaml, line of the error, message, hint or None)
BAD_SHAPES: dict[str, tuple[str, int, str, str | None]] = {
    "not a mapping": ("pipeline: github\n", 3, "pipeline: expected a mapping, got a string", None),
    "a list": ("pipeline: [github]\n", 3, "pipeline: expected a mapping, got a list", None),
    "no provider": (
        "pipeline:\n  install: x\n", 3, "pipeline: missing `provider` (the CI provider's name", None,
    ),
    "unknown key": (
        "pipeline:\n  provider: github\n  stage: test\n", 5,
        "pipeline.stage: unknown key (allowed: provider, install, steps, python, docker)", None,
    ),
    "provider a list": (
        "pipeline:\n  provider: [github]\n", 4, "pipeline.provider: expected a string, got a list",
        None,
    ),
    "install a list": (
        "pipeline:\n  provider: github\n  install: [pytest]\n", 5,
        "pipeline.install: expected a string, got a list", None,
    ),
    "python a number": (
        "pipeline:\n  provider: github\n  python: 3.10\n", 5,
        "pipeline.python: expected a string, got the number 3.1", 'quote the version: python: "3.1"',
    ),
    "docker a list": (
        "pipeline:\n  provider: github\n  docker: [yes]\n", 5,
        "pipeline.docker: expected a string, got a list", None,
    ),
    "steps a mapping": (
        "pipeline:\n  provider: github\n  steps: {Test: pytest}\n", 5,
        "pipeline.steps: expected a list", None,
    ),
    "step without run": (
        "pipeline:\n  provider: github\n  steps:\n    - name: Test\n", 6,
        "pipeline.steps.0: missing `run`", None,
    ),
    "run a string": (
        "pipeline:\n  provider: github\n  steps:\n    - name: Test\n      run: pytest\n", 7,
        "pipeline.steps.0.run: expected a list of strings, got a string", None,
    ),
    "run empty": (
        "pipeline:\n  provider: github\n  steps:\n    - name: Test\n      run: []\n", 7,
        "pipeline.steps.0.run: a step needs at least one command", None,
    ),
    "unknown step key": (
        "pipeline:\n  provider: github\n  steps:\n    - name: Test\n      run: [pytest]\n"
        "      env: {A: b}\n", 8,
        "pipeline.steps.0.env: unknown key (allowed: name, run)", None,
    ),
    "step name twice": (
        "pipeline:\n  provider: github\n  steps:\n    - name: Test\n      run: [pytest]\n"
        "    - name: Test\n      run: [tox]\n", 8,
        "pipeline.steps.1.name: step name 'Test' is empty or used twice", None,
    ),
    "step name not a string": (
        "pipeline:\n  provider: github\n  steps:\n    - name: 1\n      run: [pytest]\n", 6,
        "pipeline.steps.0.name: expected a string, got an integer", None,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_SHAPES))
def test_a_bad_pipeline_shape_names_file_line_and_key(tmp_path: Path, case: str) -> None:
    text, line, message, hint = BAD_SHAPES[case]
    root = make_blueprint(tmp_path / "bp", HEAD + text)
    with pytest.raises(BlueprintError) as info:
        load_blueprint(root)
    assert info.value.where == f"blueprint.yaml:{line}"
    assert info.value.message.startswith(message), info.value.message
    assert info.value.hint == hint


def test_toml_names_the_key_and_line_too(tmp_path: Path) -> None:
    text = 'name = "x"\nversion = "1.0.0"\n\n[pipeline]\nprovider = "github"\nstage = "x"\n'
    root = make_blueprint(tmp_path / "bp", text, fmt="toml")
    with pytest.raises(BlueprintError) as info:
        load_blueprint(root)
    assert info.value.where == "blueprint.toml:6"
    assert info.value.message.startswith("pipeline.stage: unknown key")


def test_docker_may_be_a_yaml_boolean(tmp_path: Path) -> None:
    root = make_blueprint(tmp_path / "bp", HEAD + "pipeline:\n  provider: github\n  docker: true\n")
    pipeline = load_blueprint(root).pipeline
    assert pipeline is not None and pipeline.docker == "true"


RENDERED = """\
variables:
  ci: {type: str, default: github}
  py: {type: str, default: "3.12"}
  docker: {type: str, default: "false"}
pipeline:
  provider: "{{ ci }}"
  python: "{{ py }}"
  docker: "{{ docker }}"
  steps:
    - name: Test
      run: [pytest]
"""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ci": "circleci"}, "pipeline.provider: no CI provider 'circleci' is installed (known: "),
        ({"ci": "GitHub"}, "pipeline.provider: no CI provider 'GitHub' is installed"),
        ({"py": "three"}, "pipeline.python: renders to 'three', not a Python version such as 3.12"),
        ({"py": "2.7.18"}, "pipeline.python: renders to '2.7.18', not a Python version"),
        ({"docker": "maybe"}, "pipeline.docker: renders to 'maybe', not true or false"),
    ],
)
def test_what_the_pipeline_renders_to_is_checked_before_writing(
    engine: SDLCEngine,
    blueprint: Callable[..., Path],
    out: Path,
    data: dict[str, str],
    message: str,
) -> None:
    root = blueprint(HEAD + RENDERED, {"README.md": "hi\n"})
    with pytest.raises(BlueprintError) as info:
        engine.create_project(str(root), "app", output_dir=out, data=data, git=False)
    assert info.value.message.startswith(message), info.value.message
    assert info.value.where == str(root / "blueprint.yaml")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, ".github/workflows/ci.yml"),
        ({"ci": "none"}, None),
        ({"ci": "gitlab"}, ".gitlab-ci.yml"),
    ],
)
def test_good_values_render_the_providers_file(
    engine: SDLCEngine,
    blueprint: Callable[..., Path],
    out: Path,
    data: dict[str, str],
    expected: str | None,
) -> None:
    root = blueprint(HEAD + RENDERED, {"README.md": "hi\n"})
    made = engine.create_project(str(root), "app", output_dir=out, data=data, git=False)
    ci = sorted(f for f in made.files if "ci" in f.lower() and f != "README.md")
    assert ci == ([expected] if expected else [])
