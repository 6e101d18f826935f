"""A template shipping both ``cookiecutter.json`` and ``copier.yml`` (issue 11 §6).

copier's definition is used by default (it supports update); ``--dialect`` picks
one. Each choice is compared byte for byte with the real tool's output, and the
answers file records the choice so ``check`` and ``update`` use the same one.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from cli_support import console, invoke

from compat.helpers import assert_same_tree, fixture, run_cookiecutter, run_copier

NOTE = "dialect: {} (both cookiecutter.json and copier.yml present)"


def _init(template: Path, out: Path, *flags: str) -> tuple[Path, str]:
    code, _, err = invoke(
        "init", "proj", "-t", str(template), "--defaults", "--no-git", "-o", str(out), *flags
    )
    assert code == 0, err
    return out / "proj", err


def _recorded_dialect(project: Path) -> str | None:
    blueprint = yaml.safe_load((project / ".codeforge-answers.yml").read_text())["blueprint"]
    return blueprint.get("dialect")


@pytest.mark.parametrize("flags", [(), ("--dialect", "copier")], ids=["default", "chosen"])
def test_copier_is_used_by_default_and_on_request(flags: tuple[str, ...], tmp_path: Path) -> None:
    template = fixture("dual", tmp_path)
    ours, err = _init(template, tmp_path / "o", *flags)
    assert NOTE.format("copier") in err.splitlines()
    reference = run_copier(template, tmp_path / "cp" / "proj")
    assert assert_same_tree(reference, ours) == 3
    assert (ours / "src" / "made_by.txt").read_text() == "copier\n"
    assert _recorded_dialect(ours) == "copier"


def test_cookiecutter_on_request(tmp_path: Path) -> None:
    template = fixture("dual", tmp_path)
    ours, err = _init(template, tmp_path / "o", "--dialect", "cookiecutter")
    assert NOTE.format("cookiecutter") in err.splitlines()
    reference = run_cookiecutter(template, tmp_path / "cc")
    assert reference.name == "dual_demo"
    assert assert_same_tree(reference, ours) == 3
    assert (ours / "src" / "made_by.txt").read_text() == "cookiecutter\n"
    assert _recorded_dialect(ours) == "cookiecutter"


def test_a_single_definition_records_no_dialect(tmp_path: Path) -> None:
    template = fixture("cp-subdir", tmp_path)
    ours, err = _init(template, tmp_path / "o", "--dialect", "copier")
    assert "dialect:" not in err
    assert _recorded_dialect(ours) is None


def test_a_dialect_the_template_lacks_is_refused(tmp_path: Path) -> None:
    template = fixture("dual", tmp_path)
    code, _, err = invoke(
        "init", "proj", "-t", str(template), "--defaults", "--no-git", "-o", str(tmp_path / "o"),
        "--dialect", "native",
    )  # fmt: skip
    assert code == 7, err
    assert "holds no native definition (it has copier.yml and cookiecutter.json)" in err
    assert not (tmp_path / "o").exists()


def test_an_unknown_dialect_is_a_usage_error(tmp_path: Path) -> None:
    template = fixture("dual", tmp_path)
    done = console("init", "proj", "-t", str(template), "--defaults", "--dialect", "jinja")
    assert done.returncode == 2, done.stderr
    assert "Invalid value for '--dialect'" in done.stderr
    assert "'cookiecutter', 'copier', 'native'" in done.stderr


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args], cwd=repo, check=True, capture_output=True
    )


def _commit(repo: Path, tag: str) -> None:
    if not (repo / ".git").exists():
        _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", tag)
    _git(repo, "tag", tag)


@pytest.fixture
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@localhost")


@pytest.mark.usefixtures("git_identity")
def test_check_and_update_keep_the_recorded_dialect(tmp_path: Path) -> None:
    template = fixture("dual", tmp_path)
    _commit(template, "v1.0.0")
    ours, _ = _init(template, tmp_path / "o", "--dialect", "cookiecutter")
    _git(ours, "init", "-q")
    _git(ours, "add", "-A")
    _git(ours, "commit", "-q", "-m", "made")
    cc_folder = template / "{{cookiecutter.project_slug}}"
    (cc_folder / "NEW.txt").write_text("added in 1.1.0 for {{ cookiecutter.project_slug }}\n")
    (template / "copier" / "COPIER_ONLY.txt").write_text("copier\n")
    _commit(template, "v1.1.0")
    code, out, err = invoke("check", str(ours))
    assert code == 100, out + err
    assert "1.0.0" in out and "1.1.0" in out
    code, out, err = invoke("update", str(ours))
    assert code == 0, out + err
    assert (ours / "NEW.txt").read_text() == "added in 1.1.0 for dual_demo\n"
    assert not (ours / "COPIER_ONLY.txt").exists()
    assert (ours / "src" / "made_by.txt").read_text() == "cookiecutter\n"
    assert _recorded_dialect(ours) == "cookiecutter"
    # The same release through the real cookiecutter: the updated project matches it.
    shutil.rmtree(template / ".git")
    shutil.rmtree(ours / ".git")
    reference = run_cookiecutter(template, tmp_path / "cc")
    assert assert_same_tree(reference, ours) == 4
