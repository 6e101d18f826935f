"""copier's ``_preserve_symlinks: true``: relative links inside the project stay links.

Differential against the real copier (every byte, and every link's target), then
what only CodeForge has: links that leave the project are refused (exit 6, through
the console script), ``--force`` swaps links in transactionally, the dry-run
report names link targets, and the zip stores Info-ZIP link entries.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cli_support import console, invoke

from codeforge.app.context import local_engine
from codeforge.core.sinks import write_zip
from compat.helpers import assert_same_tree, fixture, run_codeforge, run_copier

LINKS = {
    "LATEST.md": "docs/sub/latest.md",
    "docs/sub/latest.md": "../index.md",
    "scripts/make": "make.py",
    "scripts/run": "make.py",  # from `run.jinja -> {{ entry }}`: the target is rendered
    "tools": "scripts",  # a link to a folder is kept, not descended into
}


def _links(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): os.readlink(p) for p in root.rglob("*") if p.is_symlink()
    }


@pytest.mark.parametrize("data", [{}, {"entry": "other.py", "project_name": "x"}])
def test_links_match_copier(data: dict[str, Any], tmp_path: Path) -> None:
    template = fixture("cp-links", tmp_path)
    reference = run_copier(template, tmp_path / "cp" / "proj", data)
    ours, result = run_codeforge(template, tmp_path / "cf", data)
    assert assert_same_tree(reference, ours) == 11  # files, folders and links
    expected = {**LINKS, "scripts/run": data.get("entry", "make.py")}
    assert _links(ours) == _links(reference) == expected
    assert "scripts/make" in result.files


def test_without_the_setting_links_are_followed_as_today(tmp_path: Path) -> None:
    template = fixture("cp-links", tmp_path)
    for link in ("tools", "scripts/run.jinja", "LATEST.md"):
        (template / link).unlink()
    text = (template / "copier.yml").read_text()
    (template / "copier.yml").write_text(text.replace("_preserve_symlinks: true\n", ""))
    reference = run_copier(template, tmp_path / "cp" / "proj")
    ours, _ = run_codeforge(template, tmp_path / "cf")
    assert_same_tree(reference, ours)
    assert _links(ours) == {}
    assert (ours / "scripts" / "make").read_bytes() == (ours / "scripts" / "make.py").read_bytes()


def _escaping(tmp_path: Path, name: str, target: str) -> Path:
    template = fixture("cp-links", tmp_path)
    os.symlink(target, template / "docs" / name)
    return template


@pytest.mark.parametrize(
    ("name", "target", "data"),
    [
        ("up", "../../outside.txt", []),
        ("absolute", "/etc/passwd", []),
        ("rendered.jinja", "{{ entry }}", ["--data", "entry=../../../x"]),
    ],
)
def test_a_link_leaving_the_project_is_refused(
    name: str, target: str, data: list[str], tmp_path: Path
) -> None:
    template = _escaping(tmp_path, name, target)
    out = tmp_path / "out"
    done = console("init", "proj", "-t", str(template), "--defaults", "--no-git", "-o", str(out),
                   *data)  # fmt: skip
    assert done.returncode == 6, done.stdout + done.stderr
    assert "points outside the project" in done.stderr
    assert f"docs/{name.removesuffix('.jinja')}" in done.stderr
    assert not (out / "proj").exists()


def test_force_swaps_links_in_and_keeps_equal_ones(tmp_path: Path) -> None:
    template = fixture("cp-links", tmp_path)
    out = tmp_path / "out"
    args = ("init", "proj", "-t", str(template), "--defaults", "--no-git", "-o", str(out))
    assert invoke(*args)[0] == 0
    project = out / "proj"
    (project / "scripts" / "make").unlink()
    (project / "scripts" / "make").write_text("a file where the link was\n")
    (project / "tools").unlink()
    os.symlink("docs", project / "tools")  # a link to elsewhere
    (project / "mine.txt").write_text("mine\n")
    code, out_text, err = invoke(*args, "--dry-run", "--force", "--json")
    assert code == 0, err
    report = {e["path"]: (e["action"], e["link"]) for e in json.loads(out_text)["report"]}
    assert report["scripts/make"] == ("overwrite", "make.py")
    assert report["tools"] == ("overwrite", "scripts")
    assert report["LATEST.md"] == ("unchanged", "docs/sub/latest.md")
    assert report["README.md"] == ("unchanged", None)
    code, _, err = invoke(*args, "--force")
    assert code == 0, err
    assert _links(project) == LINKS
    assert (project / "mine.txt").read_text() == "mine\n"
    reference = run_copier(template, tmp_path / "cp" / "proj")
    (project / "mine.txt").unlink()
    assert_same_tree(reference, project)


def test_dry_run_tree_names_the_targets(tmp_path: Path) -> None:
    template = fixture("cp-links", tmp_path)
    code, text, err = invoke(
        "init", "proj", "-t", str(template), "--defaults", "--dry-run", "-o", str(tmp_path / "o")
    )
    assert code == 0, err
    assert "make -> make.py, create" in text
    assert not (tmp_path / "o").exists()


def test_zip_stores_link_entries_that_unzip_restores(tmp_path: Path) -> None:
    template = fixture("cp-links", tmp_path)
    _, _, plan = local_engine().render_plan(str(template), "proj")
    buffer = io.BytesIO()
    write_zip(plan, buffer, "proj")
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive:
        entry = archive.getinfo("proj/scripts/make")
        assert stat.S_ISLNK(entry.external_attr >> 16)
        assert archive.read(entry) == b"make.py"
        made = archive.getinfo("proj/scripts/make.py")
        assert stat.S_ISREG(made.external_attr >> 16) and made.external_attr >> 16 & 0o111
    (tmp_path / "p.zip").write_bytes(buffer.getvalue())
    subprocess.run(["unzip", "-q", "p.zip"], cwd=tmp_path, check=True)
    assert _links(tmp_path / "proj") == LINKS
    reference = run_copier(template, tmp_path / "cp" / "proj")
    assert (tmp_path / "proj" / "README.md").read_bytes() == (reference / "README.md").read_bytes()


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args], cwd=repo, check=True, capture_output=True
    )


def test_update_keeps_links_and_reports_new_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@localhost")
    template = fixture("cp-links", tmp_path)
    _git(template, "init", "-q")
    _git(template, "add", "-A")
    _git(template, "commit", "-q", "-m", "v1")
    _git(template, "tag", "v1.0.0")
    out = tmp_path / "out"
    code, _, err = invoke("init", "proj", "-t", str(template), "--defaults", "-o", str(out))
    assert code == 0, err
    project = out / "proj"
    (template / "docs" / "index.md").write_text("index v2\n")
    os.symlink("scripts/make.py", template / "make")
    _git(template, "add", "-A")
    _git(template, "commit", "-q", "-m", "v2")
    _git(template, "tag", "v2.0.0")
    code, text, err = invoke("update", str(project), "--json")
    assert code == 0, text + err
    kept = {k["path"]: k["reason"] for k in json.loads(text)["kept"]}
    assert "make" in kept and "scripts/make.py" in kept["make"]
    assert (project / "docs" / "index.md").read_text() == "index v2\n"
    assert _links(project) == LINKS  # the links made at init are untouched
    assert not os.path.lexists(project / "make")
