"""``codeforge init ... --publish github|gitlab``: create and publish in one go (console script)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import console
from sources.git_support import BlueprintRepo, git

from .forge_contract import ForgeContract, Reply
from .test_publish import ENV, GH, TOKENS, accounts, clone, no_token_leaks

__all__ = ["accounts"]  # the fixture, shared with test_publish


def blueprint(tmp_path: Path) -> Path:
    repo = BlueprintRepo(tmp_path / "bp")
    repo.commit("one", "v1.0.0")
    return repo.path


def init(forge: ForgeContract, tmp_path: Path, provider: str, *args: str):  # type: ignore[no-untyped-def]
    return console(
        "init", "shop", "-t", str(blueprint(tmp_path)), "--defaults", "-o", str(tmp_path / "out"),
        "--publish", provider, "--host", forge.url, *args,
        env={ENV[provider]: TOKENS[provider]},
    )  # fmt: skip


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_init_publish_creates_and_publishes(
    accounts: ForgeContract, tmp_path: Path, provider: str
) -> None:
    done = init(
        accounts, tmp_path, provider, "--owner", "acme", "--public", "--topic", "demo",
        "--description", "A shop", "--protect-default-branch", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    path = tmp_path / "out" / "shop"
    assert shown["destination"] == str(path) and shown["recorded"] is True
    assert (shown["publish"]["owner"], shown["publish"]["name"]) == ("acme", "shop")
    [repo] = accounts.repos.values()
    assert (repo.kind, repo.owner, repo.name, repo.visibility) == (
        provider,
        "acme",
        "shop",
        "public",
    )
    assert (repo.description, repo.topics, repo.protected) == ("A shop", ["demo"], {"main"})
    copy = clone(accounts, tmp_path, "acme", "shop", provider)
    assert git(copy, "rev-parse", "HEAD") == git(path, "rev-parse", "HEAD")
    # Both records wait in the journal: neither init nor publish opened the database.
    data_dir = Path(os.environ["CODEFORGE_DATA_DIR"])
    assert not (data_dir / "codeforge.db").exists()
    pending = [json.loads(line) for line in (data_dir / "journal.jsonl").read_text().splitlines()]
    assert [line["action"] for line in pending] == ["init", "publish"]
    [row] = json.loads(console("list", "projects", "--json").stdout)
    assert (row["provider"], row["remote_url"]) == (provider, f"{accounts.url}/acme/shop")
    no_token_leaks(accounts, path, done.stdout, done.stderr, json.dumps(row))


def test_init_publish_prints_both_steps(accounts: ForgeContract, tmp_path: Path) -> None:
    done = init(accounts, tmp_path, "github")
    assert done.returncode == 0, done.stderr
    assert "Created " in done.stdout and "Published main" in done.stdout
    assert "octocat/shop" in done.stdout


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_a_bad_token_fails_before_anything_is_created(
    forge: ForgeContract, tmp_path: Path, provider: str
) -> None:
    done = init(forge, tmp_path, provider)
    assert done.returncode == 15, done.stderr
    assert f"{provider} at {forge.url} refused the token (401" in done.stderr
    assert not (tmp_path / "out").exists()
    assert forge.mutating() == []


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (["--repo", "bad name"], "--repo"),
        (["--topic", "Not A Topic"], "--topic"),
    ],
)
def test_bad_publish_options_fail_before_anything_is_created(
    accounts: ForgeContract, tmp_path: Path, args: list[str], where: str
) -> None:
    done = init(accounts, tmp_path, "github", *args)
    assert done.returncode == 2, done.stderr
    assert where in done.stderr
    assert not (tmp_path / "out").exists() and accounts.mutating() == []


def test_a_failed_publish_keeps_the_project_and_says_how_to_retry(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    broken = Reply(500, {"message": "Server Error"})
    accounts.failures[:] = [("PATCH", "/api/v3/repos/octocat/shop", broken)] * 4
    done = init(accounts, tmp_path, "github", "--topic", "demo")
    assert done.returncode == 10, done.stderr
    path = tmp_path / "out" / "shop"
    assert (path / "README.md").read_text() == "hello from shop\n"
    assert f"created {path}, but publishing it failed" in done.stderr
    retry = done.stderr.split("retry with `", 1)[1].split("`", 1)[0]
    argv = shlex.split(retry)
    assert argv[:5] == ["codeforge", "publish", str(path), "--to", "github"]
    assert "--topic" in argv and GH not in done.stderr
    again = console(*argv[1:], env={"GITHUB_TOKEN": GH})
    assert again.returncode == 0, again.stderr
    [repo] = accounts.repos.values()
    assert (repo.default_branch, repo.topics) == ("main", ["demo"])


def test_dry_run_checks_the_token_and_sends_nothing(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    done = init(accounts, tmp_path, "gitlab", "--owner", "acme", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "Then would publish to gitlab acme/shop (private); nothing sent." in done.stdout
    assert not (tmp_path / "out").exists() and accounts.mutating() == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--owner", "acme"], 2, "error: --owner applies to publishing only"),
        (["--public"], 2, "--private/--internal/--public applies to publishing only"),
        (["--publish", "github", "--no-git"], 2, "--publish needs the project's git history"),
        (["--publish", "bitbucket"], 8, "unknown provider 'bitbucket'"),
    ],
)
def test_publish_options_that_cannot_apply_are_refused(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    done = console(
        "init", "shop", "-t", str(blueprint(tmp_path)), "--defaults", "-o", str(tmp_path / "out"),
        *args, env={"GITHUB_TOKEN": GH},
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert not (tmp_path / "out").exists()


def test_init_publish_imports_no_database_or_keyring(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    # Both records go to the journal (no SQLAlchemy), and a token from the environment
    # (CI) needs no credential store (no keyring backend lookup).
    argv = ["init", "shop", "-t", str(blueprint(tmp_path)), "--defaults", "-o",
            str(tmp_path / "out"), "--publish", "github", "--host", accounts.url]  # fmt: skip
    script = (
        "import json, sys\n"
        "from codeforge.cli.main import run\n"
        "try:\n"
        f"    run({argv!r})\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
        env={**os.environ, "GITHUB_TOKEN": GH}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    modules = set(json.loads(done.stdout.splitlines()[-1]))
    assert "codeforge.app.publish" in modules and len(accounts.repos) == 1
    for name in ("sqlalchemy", "keyring", "codeforge.db.store"):
        assert name not in modules, f"init --publish imported {name}"
