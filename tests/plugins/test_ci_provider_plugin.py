"""A CI provider added by an installed plugin, asked for by a blueprint's ``pipeline``.

tests/fixtures/sample_ci_plugin (distribution codeforge-sample-ci) adds ``woodpecker``
through ``codeforge_ci_providers``; the built-in github, gitlab and jenkins come from
the default plugin through the same hook.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from plugin_support import pip_install_fixture, with_plugin

ONLY_CI = {"CODEFORGE_PLUGINS": "sample-ci"}

BLUEPRINT = """\
name: ci-demo
version: 1.0.0
variables:
  python_version:
    type: choice
    choices: ["3.12", "3.13"]
    default: "3.12"
  ci:
    type: choice
    choices: [woodpecker, github, none]
    default: woodpecker
pipeline:
  provider: "{{ ci }}"
  install: "-e '.[dev]'"
  python: "{{ python_version }}"
  steps:
    - name: Lint
      run: [ruff check .]
    - name: Test
      run: ["pytest -q"]
"""


@pytest.fixture(scope="module")
def ci_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pip_install_fixture("sample_ci_plugin", tmp_path_factory.mktemp("sample-ci"))


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    folder = tmp_path / "ci-demo"
    (folder / "template").mkdir(parents=True)
    (folder / "blueprint.yaml").write_text(BLUEPRINT)
    (folder / "template" / "README.md").write_text("# {{ project_name }}\n")
    return folder


def _init(site: Path, demo: Path, out: Path, *data: str, **env: str) -> tuple[int, str]:
    args = ["init", "app", "-t", str(demo), "-o", str(out), "--defaults", "--no-git"]
    for item in data:
        args += ["--data", item]
    proc = with_plugin(site, *args, **env)
    return proc.returncode, proc.stderr


def test_the_plugins_provider_writes_the_ci_file(ci_site: Path, demo: Path, tmp_path: Path) -> None:
    code, err = _init(ci_site, demo, tmp_path / "out", **ONLY_CI)
    assert code == 0, err
    project = tmp_path / "out" / "app"
    assert sorted(p.name for p in project.iterdir()) == [
        ".codeforge-answers.yml",
        ".woodpecker.yaml",
        "README.md",
    ]
    pipeline = yaml.safe_load((project / ".woodpecker.yaml").read_text())
    assert pipeline["matrix"] == {"PYTHON": ["3.12", "3.13"]}
    assert pipeline["steps"][0]["commands"] == [
        "python -m pip install -e '.[dev]'",
        "ruff check .",
        "pytest -q",
    ]


def test_a_builtin_provider_through_the_same_hook(
    ci_site: Path, demo: Path, tmp_path: Path
) -> None:
    code, err = _init(
        ci_site, demo, tmp_path / "out", "ci=github", "python_version=3.13", **ONLY_CI
    )
    assert code == 0, err
    workflow = yaml.safe_load((tmp_path / "out/app/.github/workflows/ci.yml").read_text())
    steps = workflow["jobs"]["test"]["steps"]
    assert [s.get("run") for s in steps[2:]] == [
        "python -m pip install -e '.[dev]'",
        "ruff check .",
        "pytest -q",
    ]
    assert workflow["jobs"]["test"]["strategy"]["matrix"]["python-version"] == ["3.13"]
    assert not (tmp_path / "out/app/.woodpecker.yaml").exists()


def test_ci_none_writes_no_ci_file(ci_site: Path, demo: Path, tmp_path: Path) -> None:
    code, err = _init(ci_site, demo, tmp_path / "out", "ci=none", **ONLY_CI)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out/app").iterdir()) == [
        ".codeforge-answers.yml",
        "README.md",
    ]


def test_a_provider_no_plugin_adds_is_one_line_and_writes_nothing(
    ci_site: Path, demo: Path, tmp_path: Path
) -> None:
    code, err = _init(ci_site, demo, tmp_path / "out", CODEFORGE_PLUGINS="")
    assert code == 7, err  # a blueprint error
    assert err.count("\n") <= 2, err
    assert "pipeline.provider: no CI provider 'woodpecker' is installed" in err
    assert "(known: github, gitlab, jenkins)" in err
    assert not (tmp_path / "out" / "app").exists()


def test_plugins_list_shows_the_hook(ci_site: Path) -> None:
    proc = with_plugin(ci_site, "plugins", "list", "--json", **ONLY_CI)
    assert proc.returncode == 0, proc.stderr
    listed = {p["name"]: p for p in json.loads(proc.stdout)}
    assert listed["sample-ci"]["hooks"] == ["codeforge_ci_providers"]
    assert "codeforge_ci_providers" in listed["codeforge.plugins.builtin"]["hooks"]
