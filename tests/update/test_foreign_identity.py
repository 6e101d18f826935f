"""A cookiecutter or copier template from git is named after its folder or repository and
versioned by the tag the project was made from, in init's output, the answers file,
``check`` and ``update`` alike (it was the checkout's commit id at 0.0.0)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from blueprint_factory import build_tree
from cli_support import invoke

from .test_git_adoption import commit, git_identity  # noqa: F401

COPIER = {
    "copier.yml": "greeting:\n  type: str\n  default: hello\n",
    "{{ _copier_conf.answers_file }}.jinja": "{{ _copier_answers|to_nice_yaml }}",
    "hello.txt.jinja": "{{ greeting }} world\n",
}
COOKIECUTTER = {
    "cookiecutter.json": '{"project_slug": "demo", "greeting": "hello"}',
    "{{cookiecutter.project_slug}}/hello.txt": "{{ cookiecutter.greeting }} world\n",
}


@pytest.mark.parametrize(
    ("files", "changed", "first", "second"),
    [
        (COPIER, "hello.txt.jinja", "1.0.0", "1.1.0"),
        (COOKIECUTTER, "{{cookiecutter.project_slug}}/hello.txt", "v1.2.0", "v2.0.0"),
    ],
    ids=["copier", "cookiecutter"],
)
def test_name_and_version_come_from_the_repository_and_its_tag(
    tmp_path: Path, files: dict[str, str], changed: str, first: str, second: str
) -> None:
    template = build_tree(tmp_path / "my-template", files)
    commit(template, "first", first)
    out = tmp_path / "out"
    code, stdout, stderr = invoke(
        "init", "demo", "-t", str(template), "--defaults", "--no-git", "-o", str(out)
    )
    assert code == 0, stderr
    v1, v2 = first.removeprefix("v"), second.removeprefix("v")
    assert f"from my-template {v1} (" in stdout
    recorded = yaml.safe_load((out / "demo" / ".codeforge-answers.yml").read_text())
    assert (recorded["blueprint"]["name"], recorded["blueprint"]["version"]) == (
        "my-template",
        v1,
    )
    code, stdout, _ = invoke("check", str(out / "demo"))
    assert (code, stdout) == (0, f"my-template {v1} is up to date.\n")
    # Up to date means it: an update to the same version changes nothing.
    code, stdout, _ = invoke("update", str(out / "demo"))
    assert code == 0 and stdout == f"my-template {v1} → {v1}: nothing to change.\n"
    (template / changed).write_text((template / changed).read_text().replace("world", "there"))
    commit(template, "second", second)
    code, stdout, _ = invoke("check", str(out / "demo"), "--json")
    assert code == 100
    checked = json.loads(stdout)
    assert (checked["blueprint"], checked["current"], checked["latest"]) == (
        "my-template",
        v1,
        v2,
    )
    code, stdout, stderr = invoke("update", str(out / "demo"), "--json")
    assert code == 0, stderr
    updated = json.loads(stdout)
    assert (updated["blueprint"], updated["from_version"], updated["to_version"]) == (
        "my-template",
        v1,
        v2,
    )
    assert (out / "demo" / "hello.txt").read_text() == "hello there\n"
