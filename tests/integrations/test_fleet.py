"""``codeforge fleet status`` and ``fleet update`` end to end: console script, contract server, git."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cli_support import console
from sources.git_support import BlueprintRepo, git

from .forge_contract import ForgeContract
from .test_publish import TOKENS, accounts, publish
from .test_update_pr import BRANCH, release_two

__all__ = ["accounts"]

ENVIRON = {"GITHUB_TOKEN": TOKENS["github"], "GITLAB_TOKEN": TOKENS["gitlab"]}


def fleet_of(forge: ForgeContract, tmp_path: Path) -> tuple[BlueprintRepo, dict[str, Path]]:
    """Blueprint ``tiny`` 1.0.0 and four projects: on GitHub, on GitLab, unpublished, gone."""
    blueprint = BlueprintRepo(tmp_path / "bp")
    blueprint.commit("one", "v1.0.0")
    paths = {}
    for name in ("alpha", "beta", "gamma", "delta"):
        made = console(
            "init", name, "-t", str(blueprint.path), "--defaults", "-o", str(tmp_path / "out")
        )
        assert made.returncode == 0, made.stderr
        paths[name] = tmp_path / "out" / name
    assert publish(forge, "github", paths["alpha"]).returncode == 0
    assert publish(forge, "gitlab", paths["beta"]).returncode == 0
    shutil.rmtree(paths["delta"])
    return blueprint, paths


def fleet(*args: str):  # type: ignore[no-untyped-def]
    return console("fleet", *args, env=ENVIRON)


def test_status_lists_every_project_with_the_latest_version(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    blueprint, _ = fleet_of(accounts, tmp_path)
    release_two(blueprint)
    done = fleet("status", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert sorted(rows) == ["alpha", "beta", "delta", "gamma"]
    for name in ("alpha", "beta", "gamma"):
        row = rows[name]
        assert (row["blueprint"], row["version"], row["latest"]) == ("tiny", "1.0.0", "2.0.0")
        assert row["lagging"] is True and row["error"] is None and row["last_update"]
    assert rows["alpha"]["remote"] == f"{accounts.url}/octocat/alpha"
    assert rows["beta"]["remote"] == f"{accounts.url}/ada/beta"
    assert rows["gamma"]["remote"] is None
    assert rows["delta"]["lagging"] is False and "gone" in rows["delta"]["error"]
    table = console("fleet", "status", env={"COLUMNS": "250"})
    assert table.returncode == 0 and "2.0.0" in table.stdout and "alpha" in table.stdout


def test_update_with_pr_goes_on_past_failures_and_says_what_happened(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    blueprint, paths = fleet_of(accounts, tmp_path)
    release_two(blueprint)
    before = {r["name"]: r for r in json.loads(fleet("status", "--json").stdout)}
    done = fleet("update", "--pr", "--concurrency", "2", "--json")
    assert done.returncode == 1, done.stderr
    outcomes = {o["name"]: o for o in json.loads(done.stdout)}
    assert outcomes["alpha"]["status"] == outcomes["beta"]["status"] == "pr-opened"
    assert outcomes["alpha"]["pull"] == f"{accounts.url}/octocat/alpha/pull/1"
    assert outcomes["beta"]["pull"] == f"{accounts.url}/ada/beta/-/merge_requests/1"
    assert outcomes["gamma"]["status"] == "failed" and "not published" in outcomes["gamma"]["error"]
    assert outcomes["delta"]["status"] == "failed" and "gone" in outcomes["delta"]["error"]
    for repo in accounts.repos.values():
        [pull] = repo.pulls
        assert pull["head"] == BRANCH and "2.0.0" in pull["body"]
    # The checkouts are untouched, so the projects still lag; the pull request is the update.
    assert git(paths["alpha"], "status", "--porcelain") == ""
    status = {r["name"]: r for r in json.loads(fleet("status", "--json").stdout)}
    assert status["alpha"]["lagging"] is True
    # The last update is the `update-pr` Activity row, newer than the project's record.
    assert status["alpha"]["last_update"] > before["alpha"]["last_update"]
    assert status["gamma"]["last_update"] == before["gamma"]["last_update"]
    again = fleet("update", "--pr", "--blueprint", "tiny", "--json")
    assert {o["name"]: o["status"] for o in json.loads(again.stdout)}["alpha"] == "pr-unchanged"
    assert all(len(repo.pulls) == 1 for repo in accounts.repos.values())
    assert all(token not in r.path for r in accounts.requests for token in TOKENS.values())


def test_update_in_place_then_everything_is_up_to_date(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    blueprint, paths = fleet_of(accounts, tmp_path)
    (paths["gamma"] / "README.md").write_text("dirty\n", encoding="utf-8")  # refused: exit 4
    release_two(blueprint)
    done = fleet("update")
    assert done.returncode == 1, done.stderr
    assert "updated      alpha  1.0.0 → 2.0.0" in done.stdout
    assert "failed       gamma" in done.stdout and "uncommitted changes" in done.stdout
    assert "4 project(s): 2 failed, 2 updated." in done.stdout
    assert (paths["alpha"] / "CHANGES.md").read_text() == "new in two\n"
    assert (paths["beta"] / "CHANGES.md").exists() and not (paths["gamma"] / "CHANGES.md").exists()
    status = {r["name"]: r for r in json.loads(fleet("status", "--json").stdout)}
    assert (status["alpha"]["version"], status["alpha"]["lagging"]) == ("2.0.0", False)
    assert status["gamma"]["lagging"] is True
    for name in ("alpha", "beta"):
        git(paths[name], "add", "--all")
        git(paths[name], "commit", "--quiet", "-m", "update")
    shutil.rmtree(paths["gamma"])
    again = fleet("update", "--blueprint", "tiny", "--json")
    statuses = {o["name"]: o["status"] for o in json.loads(again.stdout)}
    assert statuses == {
        "alpha": "up-to-date",
        "beta": "up-to-date",
        "delta": "failed",
        "gamma": "failed",
    }


def test_a_bad_concurrency_is_a_usage_error(tmp_path: Path) -> None:
    done = console("fleet", "update", "--concurrency", "0")
    assert done.returncode == 2
    assert "--concurrency must be between 1 and 32" in done.stderr


def test_an_unknown_blueprint_filter_lists_nothing(tmp_path: Path) -> None:
    done = console("fleet", "status", "--blueprint", "nothing-here", "--json")
    assert done.returncode == 0 and json.loads(done.stdout) == []
