"""Git blueprint sources, end to end against real repositories in tmp_path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cli_support import invoke

from codeforge.core.engine import SDLCEngine, SilentReporter
from codeforge.errors import NotFoundError, UsageError
from codeforge.settings import load_settings
from codeforge.sources import available_versions, latest_version, resolve_source

from .git_support import BlueprintRepo, git, versioned_repo


def answers_of(project: Path) -> dict[str, object]:
    data = yaml.safe_load((project / ".codeforge-answers.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    blueprint = data["blueprint"]
    assert isinstance(blueprint, dict)
    return blueprint


def version_of(project: Path) -> str:
    return (project / "VERSION.txt").read_text(encoding="utf-8").strip()


@pytest.fixture
def remote(tmp_path: Path) -> tuple[BlueprintRepo, Path, dict[str, str]]:
    repo, shas = versioned_repo(tmp_path)
    return repo, repo.bare(tmp_path / "remote.git"), shas


@pytest.mark.parametrize("form", ["file_url", "path"])
def test_default_is_the_highest_release_tag(
    remote: tuple[BlueprintRepo, Path, dict[str, str]], out: Path, form: str
) -> None:
    _, bare, shas = remote
    source = bare.as_uri() if form == "file_url" else str(bare)
    code, _, stderr = invoke("init", "p", "-t", source, "--defaults", "--no-git", "-o", str(out))
    assert code == 0, stderr
    project = out / "p"
    assert version_of(project) == "two"  # 1.1.0 > v1.0.0; 2.0.0-rc.1 is a prerelease
    assert (project / "README.md").read_text() == "hello from p\n"
    assert answers_of(project) == {
        "name": "tiny",
        "version": "1.0.0",
        "source": source,
        "ref": "1.1.0",
        "commit": shas["two"],
    }


@pytest.mark.parametrize(
    ("ref", "label"),
    [
        ("v1.0.0", "one"),  # annotated tag
        ("2.0.0-rc.1", "rc"),
        ("main", "tip"),
        ("feature", "feature"),
        ("HEAD", "tip"),
        ("FULL", "rc"),
        ("SHORT", "one"),
    ],
)
def test_vcs_ref_picks_a_tag_branch_or_commit(
    remote: tuple[BlueprintRepo, Path, dict[str, str]],
    engine: SDLCEngine,
    out: Path,
    ref: str,
    label: str,
) -> None:
    _, bare, shas = remote
    asked = {"FULL": shas["rc"], "SHORT": shas["one"][:10]}.get(ref, ref)
    result = engine.create_project(bare.as_uri(), "p", output_dir=out, git=False, vcs_ref=asked)
    assert version_of(result.destination) == label
    recorded = answers_of(result.destination)
    assert recorded["ref"] == asked
    assert recorded["commit"] == shas[label]


def test_without_tags_the_default_branch_is_used(
    tmp_path: Path, engine: SDLCEngine, out: Path
) -> None:
    repo = BlueprintRepo(tmp_path / "work")
    repo.commit("first")
    sha = repo.commit("second")
    git(repo.path, "tag", "release-candidate")  # not a version
    bare = repo.bare(tmp_path / "remote.git")
    result = engine.create_project(str(bare), "p", output_dir=out, git=False)
    assert version_of(result.destination) == "second"
    assert answers_of(result.destination)["ref"] == "main"
    assert answers_of(result.destination)["commit"] == sha


def test_only_prereleases_picks_the_highest_prerelease(
    tmp_path: Path, engine: SDLCEngine, out: Path
) -> None:
    repo = BlueprintRepo(tmp_path / "work")
    repo.commit("alpha", "1.0.0-alpha.2")
    repo.commit("alpha10", "1.0.0-alpha.10")  # numeric identifiers compare as numbers
    repo.commit("beta", "1.0.0-beta")
    repo.commit("later")
    bare = repo.bare(tmp_path / "remote.git")
    result = engine.create_project(str(bare), "p", output_dir=out, git=False)
    assert version_of(result.destination) == "beta"


def test_unknown_ref_is_not_found_and_lists_versions(
    remote: tuple[BlueprintRepo, Path, dict[str, str]], out: Path
) -> None:
    _, bare, _ = remote
    code, _, stderr = invoke(
        "init", "p", "-t", str(bare), "--vcs-ref", "9.9.9", "--defaults", "-o", str(out)
    )
    assert code == NotFoundError.exit_code
    assert "no tag, branch or commit '9.9.9'" in stderr
    assert "1.1.0" in stderr  # the hint names recent versions
    assert list(out.iterdir()) == []


def test_a_missing_ref_is_fetched(
    remote: tuple[BlueprintRepo, Path, dict[str, str]], engine: SDLCEngine, out: Path
) -> None:
    repo, bare, _ = remote
    engine.create_project(str(bare), "a", output_dir=out, git=False)
    repo.commit("four", "4.0.0")
    repo.push(bare)
    result = engine.create_project(str(bare), "b", output_dir=out, git=False, vcs_ref="4.0.0")
    assert version_of(result.destination) == "four"


def test_one_tree_per_commit_shared_by_spellings(
    remote: tuple[BlueprintRepo, Path, dict[str, str]],
    engine: SDLCEngine,
    out: Path,
    codeforge_dirs: dict[str, Path],
) -> None:
    _, bare, shas = remote
    first = engine.load_blueprint(str(bare))
    second = engine.load_blueprint(bare.as_uri() + "/")
    assert first.source.path == second.source.path
    assert first.source.path.name == shas["two"]
    entries = list((codeforge_dirs["cache"] / "git").iterdir())
    assert len(entries) == 1
    assert sorted(p.name for p in (entries[0] / "trees").iterdir()) == [shas["two"]]
    assert not (first.source.path / ".git").exists()


def test_the_recorded_commit_renders_the_same_files_again(
    remote: tuple[BlueprintRepo, Path, dict[str, str]], engine: SDLCEngine, out: Path
) -> None:
    repo, bare, _ = remote
    made = engine.create_project(str(bare), "p", output_dir=out, git=False)
    recorded = answers_of(made.destination)
    repo.commit("newer", "5.0.0")
    repo.push(bare)
    again = engine.load_blueprint(
        str(recorded["source"]), vcs_ref=str(recorded["commit"]), refresh=True
    )
    assert (again.source.path / "template" / "VERSION.txt").read_text() == "two\n"
    assert again.source.commit == recorded["commit"]


def test_available_and_latest_versions(
    remote: tuple[BlueprintRepo, Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, bare, shas = remote
    settings = load_settings()
    assert available_versions(bare.as_uri(), settings) == [
        ("v1.0.0", shas["one"]),
        ("1.1.0", shas["two"]),
        ("2.0.0-rc.1", shas["rc"]),
    ]
    assert latest_version(str(bare), settings) == ("1.1.0", shas["two"])
    six = repo.commit("six", "v6.0.0")
    repo.push(bare)
    # A local repository is fetched on every use (remote ones: see test_http_backend.py).
    assert latest_version(str(bare), settings) == ("v6.0.0", six)
    assert available_versions("web-fastapi", settings) == []
    assert available_versions(str(tmp_path), settings) == []  # a plain folder


# -- local working copies --------------------------------------------------------------------


def test_a_clean_working_copy_is_a_git_source(
    remote: tuple[BlueprintRepo, Path, dict[str, str]], engine: SDLCEngine, out: Path
) -> None:
    repo, _, shas = remote
    reporter = SilentReporter()
    engine.reporter = reporter
    result = engine.create_project(str(repo.path), "p", output_dir=out, git=False)
    assert version_of(result.destination) == "two"
    assert answers_of(result.destination) == {
        **answers_of(result.destination),
        "source": str(repo.path),
        "ref": "1.1.0",
        "commit": shas["two"],
    }
    assert reporter.messages == []
    # Local repositories are fetched on every use: a new commit is seen at once.
    tip = repo.commit("local-tip")
    head = engine.create_project(str(repo.path), "q", output_dir=out, git=False, vcs_ref="HEAD")
    assert version_of(head.destination) == "local-tip"
    assert answers_of(head.destination)["commit"] == tip


def test_a_dirty_working_copy(
    remote: tuple[BlueprintRepo, Path, dict[str, str]], engine: SDLCEngine, out: Path
) -> None:
    repo, _, _ = remote
    repo.write("template/VERSION.txt", "edited\n")
    repo.write("template/NEW.txt", "untracked\n")
    reporter = SilentReporter()
    engine.reporter = reporter
    tagged = engine.create_project(str(repo.path), "tagged", output_dir=out, git=False)
    assert version_of(tagged.destination) == "two"
    assert not (tagged.destination / "NEW.txt").exists()
    assert any("uncommitted changes" in m and "--vcs-ref HEAD" in m for m in reporter.messages)

    reporter.messages.clear()
    head = engine.create_project(str(repo.path), "head", output_dir=out, git=False, vcs_ref="HEAD")
    assert version_of(head.destination) == "edited"
    assert (head.destination / "NEW.txt").read_text() == "untracked\n"
    recorded = answers_of(head.destination)
    assert "ref" not in recorded and "commit" not in recorded, "not reproducible: not recorded"
    assert any("no commit is recorded" in m for m in reporter.messages)


def test_a_plain_folder_keeps_its_behaviour(
    engine: SDLCEngine, blueprint: object, tmp_path: Path, out: Path
) -> None:
    from blueprint_factory import make_blueprint

    folder = make_blueprint(tmp_path / "plain", None, {"a.txt": "{{ project_name }}"})
    resolved = resolve_source(str(folder), allow_local=True, trust=False)
    assert (resolved.kind, resolved.path, resolved.source) == (
        "local",
        folder.resolve(),
        str(folder.resolve()),
    )
    assert (resolved.ref, resolved.commit, resolved.warnings) == (None, None, ())
    result = engine.create_project(str(folder), "p", output_dir=out, git=False)
    assert "ref" not in answers_of(result.destination)
    with pytest.raises(UsageError, match="--vcs-ref applies to git sources only"):
        engine.create_project(str(folder), "q", output_dir=out, git=False, vcs_ref="main")
    with pytest.raises(UsageError, match="built-in"):
        engine.load_blueprint("web-fastapi", vcs_ref="v1.0.0")


def test_concurrent_processes_share_one_clone(
    remote: tuple[BlueprintRepo, Path, dict[str, str]],
    out: Path,
    codeforge_dirs: dict[str, Path],
) -> None:
    _, bare, shas = remote
    env = {
        **os.environ,
        **{f"CODEFORGE_{k.upper()}_DIR": str(v) for k, v in codeforge_dirs.items()},
    }
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "codeforge",
                "init",
                f"p{i}",
                "-t",
                bare.as_uri(),
                "--defaults",
                "--no-git",
                "-o",
                str(out),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    for i in range(3):
        assert answers_of(out / f"p{i}")["commit"] == shas["two"]
    (entry,) = (codeforge_dirs["cache"] / "git").iterdir()
    assert sorted(p.name for p in entry.iterdir()) == ["lock", "meta.json", "repo.git", "trees"]
    assert [p.name for p in (entry / "trees").iterdir()] == [shas["two"]]


def test_an_interrupted_tree_is_rebuilt(
    remote: tuple[BlueprintRepo, Path, dict[str, str]],
    engine: SDLCEngine,
    codeforge_dirs: dict[str, Path],
) -> None:
    _, bare, shas = remote
    engine.load_blueprint(str(bare))
    (entry,) = (codeforge_dirs["cache"] / "git").iterdir()
    shutil.rmtree(entry / "trees" / shas["two"])
    (entry / "trees" / f".tmp-999-{shas['two'][:12]}").mkdir()  # what a killed process leaves
    again = engine.load_blueprint(str(bare))
    assert (again.source.path / "template" / "VERSION.txt").read_text() == "two\n"
    assert [p.name for p in (entry / "trees").iterdir()] == [shas["two"]]
