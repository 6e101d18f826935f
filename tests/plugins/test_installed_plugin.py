"""An installed plugin distribution, seen through the real ``codeforge`` console script."""

from __future__ import annotations

import json
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
