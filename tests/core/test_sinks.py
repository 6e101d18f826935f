"""Writing a plan: atomic directory writes, --force, skip_if_exists, zip, dry run, git."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from blueprint_factory import Exec, snapshot
from ci_support import skip_unless_ci

from codeforge.app.context import local_engine
from codeforge.core.answersfile import ANSWERS_FILE
from codeforge.core.engine import SDLCEngine, SilentReporter
from codeforge.core.sinks import write_zip
from codeforge.errors import CodeForgeError, ConflictError, TemplateError
from codeforge.settings import load_settings

FILES = {
    "README.md": "# {{ project_name }}\n",
    "src/app/__init__.py": "VERSION = '1'\n",
    "src/app/main.py": "print('{{ project_name }}')\n",
    "bin/run": Exec("#!/bin/sh\n"),
    "logo.bin": b"\x00\x01\x02\xff",
    "empty": None,
}


def leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".codeforge-" in p.name]


def test_new_project_is_written(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    result = engine.create_project(str(blueprint({}, FILES)), "p", output_dir=out, git=False)
    assert result.destination == out / "p"
    assert snapshot(out / "p") == {
        ANSWERS_FILE: (out / "p" / ANSWERS_FILE).read_bytes(),
        "README.md": b"# p\n",
        "bin": "<dir>",
        "bin/run": b"#!/bin/sh\n",
        "empty": "<dir>",
        "logo.bin": b"\x00\x01\x02\xff",
        "src": "<dir>",
        "src/app": "<dir>",
        "src/app/__init__.py": b"VERSION = '1'\n",
        "src/app/main.py": b"print('p')\n",
    }
    assert result.files == sorted([*[k for k, v in FILES.items() if v is not None], ANSWERS_FILE])
    assert leftovers(out) == []


def test_missing_output_parents_are_created(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    result = engine.create_project(
        str(blueprint({}, FILES)), "p", output_dir=out / "a" / "b", git=False
    )
    assert (result.destination / "README.md").read_text() == "# p\n"


def test_template_error_in_the_last_file_writes_nothing(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint({}, {**FILES, "zzz_last.txt": "{{ undefined_name }}"})
    with pytest.raises(TemplateError):
        engine.create_project(str(bp), "p", output_dir=out / "new" / "deeper", git=False)
    assert list(out.iterdir()) == []  # not even the parents it would have created


def test_failure_while_moving_into_place_leaves_nothing(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_rename(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "rename", broken_rename)
    with pytest.raises(CodeForgeError, match="No space left on device"):
        engine.create_project(str(blueprint({}, FILES)), "p", output_dir=out, git=False)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("fail_on", [1, 2, 4])
def test_force_write_is_undone_when_a_swap_fails(
    engine: SDLCEngine,
    blueprint: Callable[..., Path],
    out: Path,
    monkeypatch: pytest.MonkeyPatch,
    fail_on: int,
) -> None:
    dest = out / "p"
    (dest / "src" / "app").mkdir(parents=True)
    (dest / "README.md").write_bytes(b"old readme\r\n")
    (dest / "src" / "app" / "main.py").write_bytes(b"old main")
    (dest / "mine.txt").write_bytes(b"user file")
    before = snapshot(dest)

    calls = {"n": 0}
    real_rename = os.rename

    def flaky_rename(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if ".codeforge-" in str(src) or ".codeforge-" in str(dst):
            calls["n"] += 1
            if calls["n"] == fail_on:
                raise OSError(5, "I/O error")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", flaky_rename)
    with pytest.raises(CodeForgeError, match="failed and was undone"):
        engine.create_project(str(blueprint({}, FILES)), "p", output_dir=out, force=True, git=False)
    assert snapshot(dest) == before
    assert leftovers(out) == []


def test_non_empty_destination_needs_force(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    (out / "p").mkdir()
    (out / "p" / "keep.txt").write_text("mine")
    with pytest.raises(ConflictError, match="already exists and is not empty") as info:
        engine.create_project(str(blueprint({}, FILES)), "p", output_dir=out, git=False)
    assert info.value.hint is not None and "--force" in info.value.hint
    assert snapshot(out / "p") == {"keep.txt": b"mine"}


def test_empty_destination_is_fine(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    (out / "p").mkdir()
    engine.create_project(str(blueprint({}, FILES)), "p", output_dir=out, git=False)
    assert (out / "p" / "README.md").exists()


def test_destination_that_is_a_file_is_a_conflict(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    (out / "p").write_text("a file")
    with pytest.raises(ConflictError, match="not a folder"):
        engine.create_project(str(blueprint({}, FILES)), "p", output_dir=out, force=True, git=False)
    assert (out / "p").read_text() == "a file"


def test_force_overwrites_plan_files_and_keeps_everything_else(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    dest = out / "p"
    (dest / "src" / "app").mkdir(parents=True)
    (dest / "README.md").write_text("old")
    (dest / "src" / "app" / "extra.py").write_text("user code")
    (dest / "notes.txt").write_text("keep me")
    engine.create_project(str(blueprint({}, FILES)), "p", output_dir=out, force=True, git=False)
    assert (dest / "README.md").read_text() == "# p\n"
    assert (dest / "src" / "app" / "extra.py").read_text() == "user code"
    assert (dest / "notes.txt").read_text() == "keep me"
    assert (dest / "bin" / "run").stat().st_mode & stat.S_IXUSR
    assert leftovers(out) == []


def test_skip_if_exists_is_respected(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint(
        {"files": {"skip_if_exists": ["config/*.toml"]}},
        {"config/local.toml": "generated = true\n", "config/other.ini": "x = 1\n"},
    )
    dest = out / "p"
    (dest / "config").mkdir(parents=True)
    (dest / "config" / "local.toml").write_text("mine = true\n")
    (dest / "config" / "other.ini").write_text("x = 0\n")
    engine.create_project(str(bp), "p", output_dir=out, force=True, git=False)
    assert (dest / "config" / "local.toml").read_text() == "mine = true\n"
    assert (dest / "config" / "other.ini").read_text() == "x = 1\n"
    fresh = engine.create_project(str(bp), "q", output_dir=out, git=False)
    assert (fresh.destination / "config" / "local.toml").read_text() == "generated = true\n"


def test_dry_run_writes_nothing_and_reports(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint({"files": {"skip_if_exists": ["keep.txt"]}}, {**FILES, "keep.txt": "k"})
    result = engine.create_project(str(bp), "p", output_dir=out, dry_run=True, git=True)
    assert list(out.iterdir()) == []
    assert {e.path: e.action for e in result.report}["README.md"] == "create"
    assert result.dry_run and result.commit is None

    dest = out / "p"
    dest.mkdir()
    (dest / "README.md").write_text("# p\n")
    (dest / "keep.txt").write_text("other")
    (dest / "src").mkdir()
    (dest / "src" / "app").mkdir()
    (dest / "src" / "app" / "main.py").write_text("changed")
    before = snapshot(dest)
    result = engine.create_project(str(bp), "p", output_dir=out, dry_run=True, force=True)
    actions = {e.path: e.action for e in result.report}
    assert actions["README.md"] == "unchanged"
    assert actions["keep.txt"] == "skip"
    assert actions["src/app/main.py"] == "overwrite"
    assert actions["logo.bin"] == "create"
    assert {e.path: e.binary for e in result.report}["logo.bin"] is True
    assert snapshot(dest) == before
    with pytest.raises(ConflictError):
        engine.create_project(str(bp), "p", output_dir=out, dry_run=True)


def test_zip_is_deterministic_and_matches_the_directory(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint({}, FILES)
    blobs = []
    for _ in range(2):
        _, _, plan = engine.render_plan(str(bp), "p")
        buffer = io.BytesIO()
        write_zip(plan, buffer, prefix="p")
        blobs.append(buffer.getvalue())
    assert blobs[0] == blobs[1]

    engine.create_project(str(bp), "p", output_dir=out, git=False)
    on_disk = {k: v for k, v in snapshot(out / "p").items()}
    with zipfile.ZipFile(io.BytesIO(blobs[0])) as archive:
        zipped: dict[str, bytes | str] = {}
        for info in archive.infolist():
            assert info.filename.startswith("p/")
            rel = info.filename[2:].rstrip("/")
            zipped[rel] = "<dir>" if info.is_dir() else archive.read(info)
            if rel == "bin/run":
                assert (info.external_attr >> 16) & 0o111
    files_on_disk = {k: v for k, v in on_disk.items() if v != "<dir>"}
    assert {k: v for k, v in zipped.items() if v != "<dir>"} == files_on_disk
    assert zipped["empty"] == "<dir>"


def test_git_repository_with_a_first_commit(
    blueprint: Callable[..., Path], out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which("git") is None:
        skip_unless_ci("git is not installed")
    monkeypatch.setenv("CODEFORGE_AUTHOR_NAME", "Ada Lovelace")
    monkeypatch.setenv("CODEFORGE_AUTHOR_EMAIL", "ada@example.com")
    engine = local_engine(load_settings())
    result = engine.create_project(str(blueprint({}, FILES)), "p", output_dir=out)
    assert result.commit is not None and len(result.commit) == 40
    log = subprocess.run(
        ["git", "log", "--format=%H %an <%ae> %s"],
        cwd=result.destination,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert log == f"{result.commit} Ada Lovelace <ada@example.com> Initial commit from tiny 1.0.0"
    status = subprocess.run(
        ["git", "status", "--porcelain"],
        cwd=result.destination,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert status == ""  # every file is in the commit
    assert not any((result.destination / ".git" / "hooks").glob("*"))


def test_no_git(engine: SDLCEngine, blueprint: Callable[..., Path], out: Path) -> None:
    result = engine.create_project(str(blueprint({}, FILES)), "p", output_dir=out, git=False)
    assert result.commit is None
    assert not (result.destination / ".git").exists()


def test_git_missing_is_a_warning(
    blueprint: Callable[..., Path], out: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    reporter = SilentReporter()
    engine = local_engine(load_settings(), reporter=reporter)
    result = engine.create_project(str(blueprint({}, FILES)), "p", output_dir=out)
    assert result.commit is None
    assert (result.destination / "README.md").exists()
    assert not (result.destination / ".git").exists()
    assert any("git is not installed" in m and m.startswith("warning:") for m in reporter.messages)


def test_workflow_timings_are_recorded_per_stage(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    result = engine.create_project(str(blueprint({}, FILES)), "p", output_dir=out, git=False)
    assert list(result.timings) == ["resolve", "answers", "render", "write", "record"]
    assert all(isinstance(t, float) and t >= 0 for t in result.timings.values())


def test_failing_stage_is_timed_and_stops_the_run(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    from codeforge.core.engine import StagesState

    ran: list[str] = []

    def ok(state: StagesState) -> None:
        ran.append("ok")

    def fails(state: StagesState) -> None:
        raise OSError(13, "Permission denied", "/some/file")

    def never(state: StagesState) -> None:
        ran.append("never")

    state = StagesState(template="t", name="n", data={})
    with pytest.raises(CodeForgeError) as info:
        engine.run_stages([("first", ok), ("second", fails), ("third", never)], state)
    assert ran == ["ok"]
    assert info.value.message == "second: Permission denied"
    assert info.value.where == "/some/file"
    assert set(state.timings) == {"first", "second"}


def test_recorder_failure_keeps_the_files(blueprint: Callable[..., Path], out: Path) -> None:
    def broken(record: object) -> None:
        raise RuntimeError("database is down")

    engine = local_engine(load_settings(), recorder=broken)
    result = engine.create_project(str(blueprint({}, FILES)), "p", output_dir=out, git=False)
    assert (result.destination / "README.md").exists()
    assert result.record_error is not None
    assert "database is down" in result.record_error.message
