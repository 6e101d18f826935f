"""``codeforge update`` between two blueprint folders: every three-way case, through the engine."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from blueprint_factory import Entry, Exec, snapshot
from cli_support import invoke

from codeforge.app.context import local_engine
from codeforge.core.engine import SDLCEngine
from codeforge.core.records import GenerationRecord
from codeforge.errors import CodeForgeError, ConflictError, NotFoundError, ValidationError

V1: dict[str, Entry] = {
    "README.md.jinja": "# {{ project_name }}\n\nline 1\nline 2\nline 3\nline 4\nline 5\n",
    "keep.txt": "same in both versions\n",
    "edit_both.txt": "a\nb\nc\nd\ne\nf\ng\n",
    "dropped.txt": "the blueprint drops this\n",
    "dropped_edited.txt": "the blueprint drops this too\n",
    "deleted_by_user.txt": "v1\n",
    "run.sh": "#!/bin/sh\necho hi\n",
    "logo.bin": b"\x00\x01v1",
    "settings.toml": "x = 1\n",
}


def v2_files(**overrides: Entry | None) -> dict[str, Entry]:
    files: dict[str, Entry] = {
        "README.md.jinja": "# {{ project_name }}\n\nline 1\nline 2\nline 3\nline 4\nline 5\nnew\n",
        "keep.txt": "same in both versions\n",
        "edit_both.txt": "a\nb\nc\nd\ne\nf\nG\n",
        "dropped_edited.txt": "the blueprint drops this too\n",
        "deleted_by_user.txt": "v2\n",
        "run.sh": Exec("#!/bin/sh\necho hi\n"),
        "logo.bin": b"\x00\x01v2",
        "settings.toml": "x = 2\n",
        "added.txt": "new in v2\n",
    }
    del files["dropped_edited.txt"]
    for key, value in overrides.items():
        if value is None:
            files.pop(key, None)
        else:
            files[key] = value
    return files


@pytest.fixture
def make(
    blueprint: Callable[..., Path], engine: SDLCEngine, out: Path
) -> Callable[..., tuple[Path, Path]]:
    """``make(v1_files, v2_files, v1_def, v2_def)`` → (project made from v1, v2 folder)."""

    def factory(
        v1: Mapping[str, Entry] = V1,
        v2: Mapping[str, Entry] | None = None,
        v1_def: Mapping[str, Any] | None = None,
        v2_def: Mapping[str, Any] | None = None,
        git: bool = False,
    ) -> tuple[Path, Path]:
        bp1 = blueprint({"version": "1.0.0", **(v1_def or {})}, dict(v1))
        bp2 = blueprint({"version": "2.0.0", **(v2_def or {})}, dict(v2 or v2_files()))
        engine.create_project(str(bp1), "demo", output_dir=out, git=git)
        return out / "demo", bp2

    return factory


def test_every_case_in_one_update(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine
) -> None:
    project, bp2 = make()
    (project / "edit_both.txt").write_text("A\nb\nc\nd\ne\nf\ng\n")
    (project / "dropped_edited.txt").write_text("mine now\n")
    (project / "deleted_by_user.txt").unlink()
    (project / "logo.bin").write_bytes(b"\x00\x01mine")
    (project / "user_file.txt").write_text("not from the blueprint\n")
    result = engine.update_project(project, template=str(bp2))
    actions = {c.path: c.action for c in result.changes}
    assert actions == {
        "README.md": "update",
        "edit_both.txt": "merge",
        "dropped.txt": "delete",
        "run.sh": "chmod",
        "logo.bin.rej": "conflict",
        "settings.toml": "update",
        "added.txt": "add",
        ".codeforge-answers.yml": "update",
    }
    assert {k.path: k.reason for k in result.kept} == {
        "deleted_by_user.txt": "you deleted it; it stays deleted",
        "dropped_edited.txt": "the blueprint dropped it, but you changed it",
    }
    assert (project / "README.md").read_text().endswith("line 5\nnew\n")
    assert (project / "edit_both.txt").read_text() == "A\nb\nc\nd\ne\nf\nG\n"
    assert not (project / "dropped.txt").exists()
    assert (project / "dropped_edited.txt").read_text() == "mine now\n"
    assert not (project / "deleted_by_user.txt").exists()
    assert os.stat(project / "run.sh").st_mode & 0o111
    assert (project / "logo.bin").read_bytes() == b"\x00\x01mine"
    assert (project / "logo.bin.rej").read_bytes() == b"\x00\x01v2"
    assert (project / "added.txt").read_text() == "new in v2\n"
    assert (project / "user_file.txt").read_text() == "not from the blueprint\n"
    recorded = yaml.safe_load((project / ".codeforge-answers.yml").read_text())
    assert recorded["blueprint"]["version"] == "2.0.0"
    assert recorded["blueprint"]["source"] == str(bp2.resolve())
    assert (result.from_version, result.to_version) == ("1.0.0", "2.0.0")


def test_second_update_is_a_no_op(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine
) -> None:
    project, bp2 = make()
    engine.update_project(project, template=str(bp2))
    before = snapshot(project)
    result = engine.update_project(project, template=str(bp2))
    assert result.changes == []
    assert snapshot(project) == before


@pytest.mark.parametrize("style", ["inline", "rej"])
def test_conflict_styles(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine, style: str
) -> None:
    project, bp2 = make()
    (project / "edit_both.txt").write_text("a\nb\nc\nd\ne\nf\nmine\n")
    result = engine.update_project(project, template=str(bp2), conflict=style)
    assert "edit_both.txt" in result.conflicts or "edit_both.txt.rej" in result.conflicts
    text = (project / "edit_both.txt").read_text()
    if style == "inline":
        assert text == (
            "a\nb\nc\nd\ne\nf\n<<<<<<< project\nmine\n=======\nG\n>>>>>>> blueprint 2.0.0\n"
        )
        assert not (project / "edit_both.txt.rej").exists()
    else:
        assert text == "a\nb\nc\nd\ne\nf\nmine\n"
        rej = (project / "edit_both.txt.rej").read_text()
        assert "-g\n+G\n" in rej and rej.startswith("--- a/edit_both.txt\n+++ b/edit_both.txt\n")


def test_both_added_the_same_path_differently(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine
) -> None:
    project, bp2 = make()
    (project / "added.txt").write_text("my own added.txt\n")
    result = engine.update_project(project, template=str(bp2))
    assert "added.txt" in result.conflicts
    text = (project / "added.txt").read_text()
    assert "<<<<<<< project\nmy own added.txt\n=======\nnew in v2\n>>>>>>>" in text


def test_both_added_the_same_content_is_quiet(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine
) -> None:
    project, bp2 = make()
    (project / "added.txt").write_text("new in v2\n")
    result = engine.update_project(project, template=str(bp2))
    assert "added.txt" not in {c.path for c in result.changes}


def test_crlf_project_file_is_not_an_edit(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine
) -> None:
    project, bp2 = make()
    (project / "settings.toml").write_bytes(b"x = 1\r\n")
    (project / "edit_both.txt").write_bytes(b"A\r\nb\r\nc\r\nd\r\ne\r\nf\r\ng\r\n")
    result = engine.update_project(project, template=str(bp2))
    assert result.conflicts == []
    assert (project / "settings.toml").read_bytes() == b"x = 2\r\n"
    assert (project / "edit_both.txt").read_bytes() == b"A\r\nb\r\nc\r\nd\r\ne\r\nf\r\nG\r\n"


def test_crlf_only_deleted_file_counts_as_unchanged(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine
) -> None:
    project, bp2 = make()
    (project / "dropped.txt").write_bytes(b"the blueprint drops this\r\n")
    engine.update_project(project, template=str(bp2))
    assert not (project / "dropped.txt").exists()


def test_user_chmod_wins_over_unchanged_blueprint_mode(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine
) -> None:
    project, bp2 = make(v2=v2_files(**{"settings.toml": Exec("x = 2\n")}))
    (project / "settings.toml").chmod(0o600)  # the user tightened it; the blueprint adds +x
    engine.update_project(project, template=str(bp2))
    assert os.stat(project / "settings.toml").st_mode & 0o777 == 0o600 | 0o100
    assert (project / "settings.toml").read_text() == "x = 2\n"


def test_skip_if_exists_file_is_never_touched(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine
) -> None:
    rules = {"files": {"skip_if_exists": ["settings.toml"]}}
    project, bp2 = make(v1_def=rules, v2_def=rules)
    (project / "settings.toml").write_text("x = 99\n")
    result = engine.update_project(project, template=str(bp2))
    assert (project / "settings.toml").read_text() == "x = 99\n"
    assert "settings.toml" not in {c.path for c in result.changes}


def test_dry_run_writes_nothing_and_reports(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine
) -> None:
    project, bp2 = make()
    (project / "edit_both.txt").write_text("a\nb\nc\nd\ne\nf\nmine\n")
    before = snapshot(project)
    result = engine.diff_project(project, template=str(bp2))
    assert snapshot(project) == before
    assert result.dry_run and "edit_both.txt" in result.conflicts
    diff = result.diff()
    assert "--- /dev/null\n+++ b/added.txt\n@@ -0,0 +1 @@\n+new in v2\n" in diff
    assert "--- a/dropped.txt\n+++ /dev/null\n" in diff
    assert "+<<<<<<< project\n" in diff


def test_new_question_defaulted_and_recorded(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine
) -> None:
    v1_def = {"variables": {"colour": {"default": "red"}}}
    v2_def = {"variables": {"colour": {"default": "red"}, "size": {"type": "int", "default": 3}}}
    files1 = {**V1, "c.txt.jinja": "{{ colour }}\n"}
    files2 = {**v2_files(), "c.txt.jinja": "{{ colour }} {{ size }}\n"}
    project, bp2 = make(files1, files2, v1_def, v2_def)
    answers_path = project / ".codeforge-answers.yml"
    result = engine.update_project(project, template=str(bp2))
    assert result.new_questions == ["size"]
    text = answers_path.read_text()
    assert "size: 3" in text and "colour: red" in text
    assert (project / "c.txt").read_text() == "red 3\n"


def test_new_question_asked_recorded_answers_not_asked_again(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine, blueprint: Callable[..., Path]
) -> None:
    v1_def = {"variables": {"colour": {"default": "red"}}}
    v2_def = {"variables": {"colour": {"default": "red"}, "size": {"type": "int", "default": 3}}}
    files1 = {**V1, "c.txt.jinja": "{{ colour }}\n"}
    files2 = {**v2_files(), "c.txt.jinja": "{{ colour }} {{ size }}\n"}
    bp1 = blueprint({"version": "1.0.0", **v1_def}, files1)
    bp2 = blueprint({"version": "2.0.0", **v2_def}, files2)
    out = bp1.parent / "projects"
    engine.create_project(str(bp1), "demo", output_dir=out, data={"colour": "blue"}, git=False)
    asked: list[str] = []

    class Prompter:
        def ask(self, variable: Any, default: Any, choices: Any, error: Any) -> Any:
            asked.append(variable.name)
            return "7"

    result = engine.update_project(out / "demo", template=str(bp2), prompter=Prompter())
    assert asked == ["size"]
    assert result.new_questions == ["size"]
    assert (out / "demo" / "c.txt").read_text() == "blue 7\n"
    saved = yaml.safe_load((out / "demo" / ".codeforge-answers.yml").read_text())
    assert saved["answers"] == {"project_name": "demo", "colour": "blue", "size": 7}


def test_data_changes_an_answer_and_merges_its_effect(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine
) -> None:
    v_def = {"variables": {"colour": {"default": "red"}}}
    files = {**V1, "c.txt.jinja": "colour={{ colour }}\nother\n"}
    project, _ = make(files, files, v_def, v_def)
    bp1 = yaml.safe_load((project / ".codeforge-answers.yml").read_text())["blueprint"]["source"]
    result = engine.update_project(project, template=bp1, data={"colour": "green"})
    assert (project / "c.txt").read_text() == "colour=green\nother\n"
    assert result.from_version == result.to_version == "1.0.0"


def test_invalid_new_answer_is_a_validation_error_and_nothing_changes(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine
) -> None:
    v2_def = {"variables": {"size": {"type": "int", "default": 3}}}
    project, bp2 = make(v2_def=v2_def)
    before = snapshot(project)
    with pytest.raises(ValidationError):
        engine.update_project(project, template=str(bp2), data={"size": "big"})
    assert snapshot(project) == before


def test_missing_base_version_is_explained(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine
) -> None:
    project, bp2 = make()
    source = yaml.safe_load((project / ".codeforge-answers.yml").read_text())["blueprint"]["source"]
    definition = Path(source, "blueprint.yaml")
    definition.write_text(definition.read_text().replace("1.0.0", "1.5.0"))
    with pytest.raises(NotFoundError, match="cannot be rebuilt") as info:
        engine.update_project(project, template=str(bp2))
    assert "--base-template" in (info.value.hint or "")


def test_not_a_project(engine: SDLCEngine, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match=r"no \.codeforge-answers\.yml"):
        engine.update_project(tmp_path)


def test_atomic_rollback_when_a_write_fails_midway(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine
) -> None:
    """v2 adds zz/new.txt, but the project has a *file* named zz: the last write fails."""
    project, bp2 = make(v2=v2_files(**{"zz/new.txt": "x\n"}))
    (project / "zz").write_text("a file where v2 has a folder\n")
    (project / "edit_both.txt").write_text("A\nb\nc\nd\ne\nf\ng\n")
    before = snapshot(project)
    with pytest.raises(CodeForgeError, match="failed and was undone"):
        engine.update_project(project, template=str(bp2))
    assert snapshot(project) == before
    leftovers = [p.name for p in project.parent.iterdir() if p.name != "demo"]
    assert leftovers == []


def test_folder_where_a_file_is_changed_is_a_conflict(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine
) -> None:
    project, bp2 = make()
    (project / "settings.toml").unlink()
    (project / "settings.toml").mkdir()
    before = snapshot(project)
    with pytest.raises(ConflictError, match=r"settings\.toml is a folder"):
        engine.update_project(project, template=str(bp2))
    assert snapshot(project) == before


def test_activity_record(make: Callable[..., tuple[Path, Path]], out: Path) -> None:
    from codeforge.settings import load_settings

    records: list[GenerationRecord] = []
    engine = local_engine(load_settings(), recorder=records.append)
    project, bp2 = make()
    records.clear()
    result = engine.update_project(project, template=str(bp2))
    assert len(records) == 1
    rec = records[0]
    assert rec.action == "update" and rec.blueprint_version == "2.0.0"
    assert rec.details["from_version"] == "1.0.0" and rec.details["to_version"] == "2.0.0"
    assert rec.file_count == len(result.changes)
    assert rec.path == str(project.resolve())


def _edit_project(project: Path) -> None:
    (project / "edit_both.txt").write_text("A\nb\nc\nd\ne\nf\ng\n")
    (project / "dropped_edited.txt").write_text("mine now\n")
    (project / "deleted_by_user.txt").unlink()
    (project / "logo.bin").write_bytes(b"\x00\x01mine")
    (project / "settings.toml").write_text("x = 5\n")


def test_fast_path_gives_the_same_result_as_full_renders(
    blueprint: Callable[..., Path], engine: SDLCEngine, tmp_path: Path
) -> None:
    """Rendering only the changed templates must be indistinguishable from rendering all."""
    bp1 = blueprint({"version": "1.0.0"}, V1)
    bp2 = blueprint({"version": "2.0.0"}, v2_files())
    results = {}
    for fast in (True, False):
        out = tmp_path / f"fast-{fast}"
        engine.create_project(str(bp1), "demo", output_dir=out, git=False)
        _edit_project(out / "demo")
        result = engine.update_project(out / "demo", template=str(bp2), fast_path=fast)
        results[fast] = (
            [(c.path, c.action, c.content, c.mode) for c in result.changes],
            [(k.path, k.reason) for k in result.kept],
            snapshot(out / "demo"),
        )
    assert results[True] == results[False]


def test_changed_partial_reaches_the_files_that_include_it(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine
) -> None:
    """An include defeats the changed-files-only render: the includer's output changes too."""
    v1 = {**V1, "_partial.txt": "old partial\n", "page.txt.jinja": "{% include '_partial.txt' %}"}
    v2 = {**v2_files(), "_partial.txt": "new partial\n", "page.txt.jinja": v1["page.txt.jinja"]}
    rules = {"files": {"exclude": ["_partial.txt"]}}
    project, bp2 = make(v1, v2, rules, rules)
    assert (project / "page.txt").read_text() == "old partial\n"
    engine.update_project(project, template=str(bp2))
    assert (project / "page.txt").read_text() == "new partial\n"


def test_base_template_stands_in_for_a_lost_version(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine, tmp_path: Path
) -> None:
    import shutil

    project, bp2 = make()
    source = yaml.safe_load((project / ".codeforge-answers.yml").read_text())["blueprint"]["source"]
    kept_copy = shutil.copytree(source, tmp_path / "v1-copy")
    shutil.rmtree(source)  # the folder the project was made from is gone
    (project / "edit_both.txt").write_text("A\nb\nc\nd\ne\nf\ng\n")
    code, _, stderr = invoke("update", str(project), "-t", str(bp2))
    assert code == 8 and "does not exist" in stderr
    code, _, stderr = invoke(
        "update", str(project), "-t", str(bp2), "--base-template", str(kept_copy)
    )
    assert code == 0, stderr
    assert (project / "edit_both.txt").read_text() == "A\nb\nc\nd\ne\nf\nG\n"


def test_a_secret_whose_when_is_false_updates(
    make: Callable[..., tuple[Path, Path]], engine: SDLCEngine
) -> None:
    """Its recorded null is no answer to give the rebuilt base version (it has no value)."""
    variables = {
        "use_db": {"type": "bool", "default": False},
        "db_password": {"type": "secret", "when": "use_db"},
    }
    project, bp2 = make(v1_def={"variables": variables}, v2_def={"variables": variables})
    result = engine.update_project(project, template=str(bp2))
    assert "added.txt" in {c.path for c in result.changes}
    assert (project / "added.txt").read_text() == "new in v2\n"
