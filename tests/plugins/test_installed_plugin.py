"""An installed plugin distribution, seen through the real ``codeforge`` console script."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from plugin_support import with_plugin

ONLY_GOOD = {"CODEFORGE_PLUGINS": "sample-hooks"}


def test_plugins_list_shows_distribution_version_and_hooks(hooks_site: Path) -> None:
    proc = with_plugin(hooks_site, "plugins", "list", "--json", **ONLY_GOOD)
    assert proc.returncode == 0, proc.stderr
    listed = {p["name"]: p for p in json.loads(proc.stdout)}
    assert listed["sample-hooks"] == {
        "name": "sample-hooks",
        "distribution": "codeforge-sample-hooks",
        "version": "1.2.0",
        "hooks": [
            "codeforge_after_generate",
            "codeforge_after_update",
            "codeforge_api_routers",
            "codeforge_before_render",
            "codeforge_job_kinds",
            "codeforge_post_processors",
            "codeforge_register_commands",
        ],
        "builtin": False,
    }
    assert "sample-broken" not in listed  # narrowed away
    assert {p["distribution"] for p in listed.values() if p["builtin"]} == {"codeforge"}


def test_plugins_list_table(hooks_site: Path) -> None:
    proc = with_plugin(hooks_site, "plugins", "list", COLUMNS="200", **ONLY_GOOD)
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if "sample-hooks" in line)
    assert "codeforge-sample-hooks" in row and "1.2.0" in row and "codeforge_job_kinds" in row


def test_a_plugin_command_runs_and_shows_in_help(hooks_site: Path) -> None:
    proc = with_plugin(hooks_site, "hello", "ada", **ONLY_GOOD)
    assert (proc.returncode, proc.stdout) == (0, "hello ada from sample-hooks\n"), proc.stderr
    proc = with_plugin(hooks_site, "--help", **ONLY_GOOD)
    assert proc.returncode == 0, proc.stderr
    assert "Plugin commands" in proc.stdout
    assert "Greet NAME (from the sample-hooks plugin)." in proc.stdout


def test_narrowing_away_the_plugin_removes_its_command(hooks_site: Path) -> None:
    proc = with_plugin(hooks_site, "hello", "ada", CODEFORGE_PLUGINS="")
    assert proc.returncode == 2
    assert "No such command 'hello'" in proc.stderr


@pytest.mark.parametrize("debug", [False, True])
def test_a_plugin_that_fails_to_import_is_one_line_and_exit_1(
    hooks_site: Path, debug: bool
) -> None:
    args = ("--debug",) if debug else ()
    proc = with_plugin(hooks_site, *args, "plugins", "list")  # every plugin: the broken one too
    assert proc.returncode == 1
    last = proc.stderr.rstrip().splitlines()[-1]
    assert last == (
        "error: plugin 'sample-broken' (distribution codeforge-sample-hooks 1.2.0) failed to load:"
        " ImportError: sample-broken needs the package 'not_installed_anywhere'"
    )
    assert ("Traceback (most recent call last)" in proc.stderr) is debug
    if not debug:
        assert proc.stderr.count("\n") == 1


def test_narrowing_to_an_unknown_plugin_names_the_installed_ones(hooks_site: Path) -> None:
    proc = with_plugin(hooks_site, "plugins", "list", CODEFORGE_PLUGINS="nope")
    assert proc.returncode == 1
    assert "error: CODEFORGE_PLUGINS names nope, which no installed plugin provides" in proc.stderr
    assert "hint: installed: sample-broken, sample-hooks" in proc.stderr


def events(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_post_processor_and_lifecycle_run_in_init(hooks_site: Path, tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"
    proc = with_plugin(
        hooks_site,
        *("init", "svc", "-t", "lib-python", "--defaults", "--no-git", "-o", str(tmp_path)),
        SAMPLE_HOOKS_LOG=str(log),
        **ONLY_GOOD,
    )
    assert proc.returncode == 0, proc.stderr
    stamp = (tmp_path / "svc" / "GENERATED_BY.txt").read_text()
    assert stamp.startswith("svc from lib-python ")
    seen = events(log)
    assert [e["event"] for e in seen] == ["before_render", "after_generate"]
    assert seen[0]["project"] == "svc"
    assert seen[0]["answers"]["license"] == "MIT"  # type: ignore[index]
    assert seen[1]["dry_run"] is False
    files = sorted(p for p in (tmp_path / "svc").rglob("*") if p.is_file())
    assert seen[1]["files"] == len(files)


def test_a_raising_post_processor_is_one_line_and_writes_nothing(
    hooks_site: Path, tmp_path: Path
) -> None:
    output = tmp_path / "projects"
    output.mkdir()
    args = ("init", "svc", "-t", "lib-python", "--defaults", "--no-git", "-o", str(output))
    proc = with_plugin(hooks_site, *args, SAMPLE_HOOKS_FAIL="post", **ONLY_GOOD)
    assert proc.returncode == 1
    assert proc.stderr == (
        "error: plugin 'sample-hooks' (distribution codeforge-sample-hooks 1.2.0) failed in"
        " a post-processor: RuntimeError: the stamp ran out of ink\n"
    )
    assert list(output.iterdir()) == []


def test_post_processor_and_after_update_run_in_update(hooks_site: Path, tmp_path: Path) -> None:
    bp = tmp_path / "tiny"
    (bp / "template").mkdir(parents=True)
    (bp / "blueprint.yaml").write_text("name: tiny\nversion: 1.0.0\n")
    (bp / "template" / "README.md").write_text("# {{ project_name }}\n")

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(bp), *args], check=True, capture_output=True)

    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "v1")
    git("tag", "v1.0.0")
    made = with_plugin(
        hooks_site, "init", "svc", "-t", str(bp), "--defaults", "--no-git", "-o", str(tmp_path),
        **ONLY_GOOD,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    project = tmp_path / "svc"
    assert (project / "GENERATED_BY.txt").read_text() == "svc from tiny 1.0.0\n"
    (bp / "blueprint.yaml").write_text("name: tiny\nversion: 2.0.0\n")
    git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qam", "v2")
    git("tag", "v2.0.0")
    log = tmp_path / "events.jsonl"
    proc = with_plugin(
        hooks_site, "update", str(project), "--defaults", SAMPLE_HOOKS_LOG=str(log), **ONLY_GOOD
    )
    assert proc.returncode == 0, proc.stderr
    # Both versions were rendered through the post-processor, so its file moved to 2.0.0.
    assert (project / "GENERATED_BY.txt").read_text() == "svc from tiny 2.0.0\n"
    updates = [e for e in events(log) if e["event"] == "after_update"]
    assert updates == [{"event": "after_update", "project": "svc", "old": "1.0.0", "new": "2.0.0"}]
