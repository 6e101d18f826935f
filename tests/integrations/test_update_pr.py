"""``codeforge update --pr`` end to end: the console script, the contract server, real git."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cli_support import console
from sources.git_support import BlueprintRepo, git

from codeforge.app.publish import STATE_FILE

from .forge_contract import ForgeContract
from .test_publish import ENV, TOKENS, accounts, clone, made_from_blueprint, publish

__all__ = ["accounts"]  # the fixture, shared with the publish tests

BRANCH = "codeforge/update-tiny-2.0.0"


def made_and_published(
    forge: ForgeContract, tmp_path: Path, provider: str
) -> tuple[BlueprintRepo, Path]:
    """A project from blueprint ``tiny`` 1.0.0, published to ``provider``."""
    blueprint, path = made_from_blueprint(tmp_path)
    done = publish(forge, provider, path)
    assert done.returncode == 0, done.stderr
    return blueprint, path


def release_two(
    blueprint: BlueprintRepo, readme: str = "{{ greeting }} from {{ project_name }} v2\n"
) -> None:
    spec = yaml.safe_load((blueprint.path / "blueprint.yaml").read_text())
    blueprint.write("blueprint.yaml", yaml.safe_dump({**spec, "version": "2.0.0"}))
    blueprint.write("template/README.md", readme)
    blueprint.write("template/CHANGES.md", "new in two\n")
    blueprint.commit("two", "v2.0.0")


def update_pr(forge: ForgeContract, provider: str, path: Path, *args: str):  # type: ignore[no-untyped-def]
    return console("update", str(path), "--pr", *args, env={ENV[provider]: TOKENS[provider]})


def no_token_anywhere(forge: ForgeContract, path: Path, *texts: str) -> None:
    for token in TOKENS.values():
        assert all(token not in r.path for r in forge.requests)
        assert token not in (path / ".git" / "config").read_text()
        assert all(token not in text for text in texts)


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_update_pr_pushes_a_branch_and_opens_a_pull_request(
    accounts: ForgeContract, tmp_path: Path, provider: str
) -> None:
    blueprint, path = made_and_published(accounts, tmp_path, provider)
    head = git(path, "rev-parse", "HEAD")
    release_two(blueprint)
    done = update_pr(accounts, provider, path, "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["action"], shown["branch"], shown["base"]) == ("opened", BRANCH, "main")
    assert (shown["from_version"], shown["to_version"]) == ("1.0.0", "2.0.0")
    [repo] = accounts.repos.values()
    [pull] = repo.pulls
    assert (pull["head"], pull["base"], pull["title"]) == (
        BRANCH,
        "main",
        "Update tiny from 1.0.0 to 2.0.0",
    )
    for text in ("1.0.0", "2.0.0", "`README.md` (update)", "`CHANGES.md` (add)", "No conflicts."):
        assert text in pull["body"]
    assert shown["pull"]["web_url"].endswith(("/pull/1", "/merge_requests/1"))
    # The user's checkout is untouched: same branch, same commit, clean, v1 files.
    assert git(path, "symbolic-ref", "--short", "HEAD") == "main"
    assert git(path, "rev-parse", "HEAD") == head
    assert git(path, "status", "--porcelain") == ""
    assert not (path / "CHANGES.md").exists()
    assert git(path, "worktree", "list").count("\n") == 0
    # The remote branch holds one commit on top of the published history.
    copy = clone(accounts, tmp_path, repo.owner, "shop", provider)
    git(copy, "checkout", "--quiet", BRANCH)
    assert git(copy, "rev-parse", "HEAD^") == head
    assert (copy / "CHANGES.md").read_text() == "new in two\n"
    assert "v2" in (copy / "README.md").read_text()
    assert "2.0.0" in (copy / ".codeforge-answers.yml").read_text()
    no_token_anywhere(accounts, path, done.stdout, done.stderr)


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_running_again_updates_the_same_pull_request(
    accounts: ForgeContract, tmp_path: Path, provider: str
) -> None:
    blueprint, path = made_and_published(accounts, tmp_path, provider)
    release_two(blueprint)
    assert update_pr(accounts, provider, path).returncode == 0
    [repo] = accounts.repos.values()
    first = git(repo.bare, "rev-parse", f"refs/heads/{BRANCH}")
    again = update_pr(accounts, provider, path, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["action"] == "unchanged"
    assert git(repo.bare, "rev-parse", f"refs/heads/{BRANCH}") == first
    # The base branch moves on: the branch gets a merge commit (a fast-forward push).
    (path / "NOTES.md").write_text("mine\n", encoding="utf-8")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "notes")
    assert publish(accounts, provider, path).returncode == 0
    third = update_pr(accounts, provider, path, "--json")
    assert third.returncode == 0, third.stderr
    shown = json.loads(third.stdout)
    assert (shown["action"], shown["pull"]["number"]) == ("updated", 1)
    assert len(repo.pulls) == 1 and repo.pulls[0]["edits"] == 1
    tip = git(repo.bare, "rev-parse", f"refs/heads/{BRANCH}")
    parents = git(repo.bare, "rev-list", "--parents", "-n", "1", tip).split()[1:]
    assert parents == [first, git(path, "rev-parse", "HEAD")]
    assert git(repo.bare, "show", f"{tip}:NOTES.md") == "mine"
    assert git(repo.bare, "show", f"{tip}:CHANGES.md") == "new in two"


def test_conflicts_are_listed_with_their_rej_files(accounts: ForgeContract, tmp_path: Path) -> None:
    blueprint, path = made_and_published(accounts, tmp_path, "github")
    (path / "README.md").write_text("my own readme\n", encoding="utf-8")
    git(path, "commit", "--quiet", "-am", "mine")
    release_two(blueprint)
    done = update_pr(accounts, "github", path)
    assert done.returncode == 102, done.stderr
    assert "README.md.rej" in done.stderr
    [repo] = accounts.repos.values()
    body = repo.pulls[0]["body"]
    assert "### Conflicts (1)" in body
    assert "`README.md`: your version is kept; the blueprint's change is in `README.md.rej`" in body
    assert "my own readme" in git(repo.bare, "show", f"{BRANCH}:README.md")
    assert "v2" in git(repo.bare, "show", f"{BRANCH}:README.md.rej")
    assert git(path, "status", "--porcelain") == ""


def test_an_up_to_date_project_opens_nothing(accounts: ForgeContract, tmp_path: Path) -> None:
    _, path = made_and_published(accounts, tmp_path, "gitlab")
    done = update_pr(accounts, "gitlab", path)
    assert done.returncode == 0, done.stderr
    assert "nothing to change, no pull request" in done.stdout
    [repo] = accounts.repos.values()
    assert repo.pulls == [] and repo.branches() == ["main"]


def test_an_unpublished_project_is_a_clear_error(accounts: ForgeContract, tmp_path: Path) -> None:
    _, path = made_from_blueprint(tmp_path)
    done = update_pr(accounts, "github", path)
    assert done.returncode == 8, done.stderr
    assert "not published" in done.stderr and "no `origin` remote" in done.stderr
    assert "codeforge publish" in done.stderr and "git remote add origin" in done.stderr
    assert accounts.mutating() == []


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_without_a_recorded_remote_the_origin_remote_is_used(
    accounts: ForgeContract, tmp_path: Path, provider: str
) -> None:
    blueprint, path = made_and_published(accounts, tmp_path, provider)
    [repo] = accounts.repos.values()
    (path / ".git" / STATE_FILE).unlink()  # pushed by hand, say: only `origin` says where
    git(path, "remote", "add", "origin", f"{accounts.url}/{repo.owner}/shop.git")
    release_two(blueprint)
    done = update_pr(accounts, provider, path, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["action"] == "opened"
    [pull] = repo.pulls
    assert (pull["head"], pull["base"]) == (BRANCH, "main")
    assert "new in two" in git(repo.bare, "show", f"{BRANCH}:CHANGES.md")
    no_token_anywhere(accounts, path, done.stdout, done.stderr)


def test_an_origin_that_names_no_repository_is_a_clear_error(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    _, path = made_from_blueprint(tmp_path)
    git(path, "remote", "add", "origin", "https://user:s3cret@example.com/")
    done = update_pr(accounts, "github", path)
    assert done.returncode == 2, done.stderr
    assert "the origin remote" in done.stderr and "does not name a forge repository" in done.stderr
    assert "s3cret" not in done.stderr
    assert accounts.mutating() == []


def test_a_dirty_project_is_exit_4(accounts: ForgeContract, tmp_path: Path) -> None:
    blueprint, path = made_and_published(accounts, tmp_path, "github")
    release_two(blueprint)
    (path / "README.md").write_text("dirty\n", encoding="utf-8")
    before = len(accounts.mutating())
    done = update_pr(accounts, "github", path)
    assert done.returncode == 4 and "uncommitted changes" in done.stderr
    assert len(accounts.mutating()) == before
