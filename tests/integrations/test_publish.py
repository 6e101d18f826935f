"""``codeforge publish`` end to end: the console script, the forge contract server, real git."""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_support import console
from nacl.public import SealedBox
from sources.git_support import BlueprintRepo, git

from .forge_contract import Account, ForgeContract, Reply

GH = "ghp_" + "PublishGood" * 3
GL = "glpat-" + "PublishGood" * 2
ENV = {"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN"}
TOKENS = {"github": GH, "gitlab": GL}


def project(tmp_path: Path, name: str = "demo") -> Path:
    root = tmp_path / name
    root.mkdir()
    # each its own README: two projects made in the same second never share a commit
    (root / "README.md").write_text(f"# {name}\n", encoding="utf-8")
    git(root, "init", "--quiet", "--initial-branch=main", "--template=")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "first")
    return root


def publish(forge: ForgeContract, provider: str, path: Path, *args: str):  # type: ignore[no-untyped-def]
    return console(
        "publish", str(path), "--to", provider, "--host", forge.url, *args,
        env={ENV[provider]: TOKENS[provider]},
    )  # fmt: skip


def clone(forge: ForgeContract, tmp_path: Path, owner: str, name: str, provider: str) -> Path:
    target = tmp_path / f"clone-{owner}-{name}-{len(list(tmp_path.iterdir()))}"
    user = "x-access-token" if provider == "github" else "oauth2"
    pair = base64.b64encode(f"{user}:{TOKENS[provider]}".encode()).decode()
    git(
        tmp_path, "-c", f"http.extraHeader=Authorization: Basic {pair}",
        "clone", "--quiet", f"{forge.url}/{owner}/{name}.git", str(target),
    )  # fmt: skip
    return target


def no_token_leaks(forge: ForgeContract, path: Path, *texts: str) -> None:
    for token in TOKENS.values():
        assert all(token not in r.path for r in forge.requests)
        assert token not in (path / ".git" / "config").read_text()
        for text in texts:
            assert token not in text


@pytest.fixture
def accounts(forge: ForgeContract) -> ForgeContract:
    forge.tokens[GH] = Account("octocat", "The Octocat", ["repo", "workflow"])
    forge.tokens[GL] = Account("ada", "Ada", ["api"])
    forge.orgs["acme"] = {"octocat", "ada"}
    return forge


@pytest.mark.parametrize(
    ("provider", "owner"),
    [("github", None), ("github", "acme"), ("gitlab", None), ("gitlab", "acme")],
)
def test_publish_creates_pushes_and_configures(
    accounts: ForgeContract, tmp_path: Path, provider: str, owner: str | None
) -> None:
    path = project(tmp_path)
    extra = ["--owner", owner] if owner else []
    done = publish(
        accounts, provider, path, *extra, "--description", "A demo", "--topic", "demo",
        "--topic", "codeforge", "--protect-default-branch", "--public", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    login = owner or accounts.tokens[TOKENS[provider]].login
    assert (shown["owner"], shown["name"], shown["branch"]) == (login, "demo", "main")
    [repo] = accounts.repos.values()
    assert (repo.kind, repo.owner, repo.visibility) == (provider, login, "public")
    assert (repo.default_branch, repo.description, repo.topics) == (
        "main",
        "A demo",
        ["demo", "codeforge"],
    )
    assert repo.protected == {"main"}
    copy = clone(accounts, tmp_path, login, "demo", provider)
    assert git(copy, "log", "--format=%s") == "first"
    assert git(copy, "rev-parse", "HEAD") == git(path, "rev-parse", "HEAD")
    no_token_leaks(accounts, path, done.stdout, done.stderr)


def test_publish_again_pushes_new_commits(accounts: ForgeContract, tmp_path: Path) -> None:
    path = project(tmp_path)
    assert publish(accounts, "github", path).returncode == 0
    (path / "NEW.md").write_text("new\n", encoding="utf-8")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "second")
    again = publish(accounts, "github", path)
    assert again.returncode == 0, again.stderr
    copy = clone(accounts, tmp_path, "octocat", "demo", "github")
    assert git(copy, "log", "--format=%s").splitlines() == ["second", "first"]
    assert len(accounts.repos) == 1


def test_a_diverged_remote_is_refused(accounts: ForgeContract, tmp_path: Path) -> None:
    path = project(tmp_path)
    assert publish(accounts, "gitlab", path).returncode == 0
    other = clone(accounts, tmp_path, "ada", "demo", "gitlab")
    (other / "THEIRS.md").write_text("theirs\n", encoding="utf-8")
    git(other, "add", "--all")
    git(other, "commit", "--quiet", "-m", "theirs")
    pair = base64.b64encode(f"oauth2:{GL}".encode()).decode()
    git(
        other,
        "-c",
        f"http.extraHeader=Authorization: Basic {pair}",
        "push",
        "--quiet",
        "origin",
        "main",
    )
    (path / "MINE.md").write_text("mine\n", encoding="utf-8")
    git(path, "add", "--all")
    git(path, "commit", "--quiet", "-m", "mine")
    done = publish(accounts, "gitlab", path)
    assert done.returncode == 4, done.stderr
    assert "diverged" in done.stderr and "git pull" in done.stderr
    remote = clone(accounts, tmp_path, "ada", "demo", "gitlab")
    assert git(remote, "log", "-1", "--format=%s") == "theirs"


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_an_existing_foreign_repository_is_exit_4_and_nothing_changes(
    accounts: ForgeContract, tmp_path: Path, provider: str
) -> None:
    foreign = project(tmp_path, "foreign")
    pushed = publish(accounts, provider, foreign, "--repo", "demo")
    assert pushed.returncode == 0, pushed.stderr
    before = len(accounts.mutating())
    path = project(tmp_path)
    done = publish(accounts, provider, path)
    assert done.returncode == 4, done.stderr
    assert "already exists" in done.stderr and "nothing was changed" in done.stderr
    assert len(accounts.mutating()) == before
    assert len(accounts.repos) == 1


def test_dry_run_calls_no_mutating_endpoint(accounts: ForgeContract, tmp_path: Path) -> None:
    path = project(tmp_path)
    done = publish(
        accounts, "github", path, "--owner", "acme", "--protect-default-branch", "--dry-run"
    )
    assert done.returncode == 0, done.stderr
    assert "Would publish main to github acme/demo" in done.stdout
    assert "create private repository acme/demo" in done.stdout
    assert accounts.mutating() == [] and accounts.repos == {}
    assert not (path / ".git" / "codeforge-publish.json").exists()


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_an_invalid_token_names_provider_and_host(
    forge: ForgeContract, tmp_path: Path, provider: str
) -> None:
    path = project(tmp_path)
    done = publish(forge, provider, path)
    assert done.returncode == 15
    assert f"{provider} at {forge.url} refused the token (401" in done.stderr
    assert forge.mutating() == []


def test_a_missing_scope_is_named(forge: ForgeContract, tmp_path: Path) -> None:
    forge.tokens[GH] = Account("octocat", "The Octocat", ["read:user"])
    done = publish(forge, "github", project(tmp_path))
    assert done.returncode == 15
    assert "lacks the scope repo, workflow" in done.stderr
    assert forge.mutating() == []


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_an_unknown_owner_is_not_found(
    accounts: ForgeContract, tmp_path: Path, provider: str
) -> None:
    done = publish(accounts, provider, project(tmp_path), "--owner", "nobody-here")
    assert done.returncode == 8, done.stderr
    assert "nobody-here" in done.stderr and "--owner" in done.stderr
    assert accounts.mutating() == []


def test_a_name_the_provider_refuses_shows_its_message(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    done = publish(accounts, "gitlab", project(tmp_path), "--repo", "bad.git")
    assert done.returncode == 3, done.stderr
    assert (
        "cannot start with '-', end in '.git'" in done.stderr.lower()
        or "end in '.git'" in done.stderr
    )


def test_network_down_is_exit_10_with_a_hint(tmp_path: Path) -> None:
    done = console(
        "publish", str(project(tmp_path)), "--to", "github", "--host", "http://127.0.0.1:9",
        env={"GITHUB_TOKEN": GH},
    )  # fmt: skip
    assert done.returncode == 10, done.stderr
    assert "cannot reach github at http://127.0.0.1:9" in done.stderr
    assert "hint" in done.stderr.lower() or "check the network" in done.stderr


def test_not_a_git_repository_or_uncommitted_changes_is_exit_4(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    done = publish(accounts, "github", plain)
    assert done.returncode == 4 and "not a git repository" in done.stderr
    path = project(tmp_path)
    (path / "README.md").write_text("changed\n", encoding="utf-8")
    done = publish(accounts, "github", path)
    assert done.returncode == 4 and "uncommitted changes" in done.stderr
    assert accounts.mutating() == []


def test_a_failed_run_resumes_on_the_next_publish(accounts: ForgeContract, tmp_path: Path) -> None:
    path = project(tmp_path)
    broken = Reply(500, {"message": "Server Error"})
    accounts.failures[:] = [("PATCH", "/api/v3/repos/octocat/demo", broken)] * 4
    done = publish(accounts, "github", path, "--topic", "demo")
    assert done.returncode == 10, done.stderr
    assert "answered 500" in done.stderr
    state = json.loads((path / ".git" / "codeforge-publish.json").read_text())
    assert state["created"] and state["done"] == ["push main"]
    assert GH not in json.dumps(state)
    again = publish(accounts, "github", path, "--topic", "demo")
    assert again.returncode == 0, again.stderr
    [repo] = accounts.repos.values()
    assert (repo.default_branch, repo.topics) == ("main", ["demo"])
    assert [r.method for r in accounts.requests if r.path == "/api/v3/user/repos"] == ["POST"]


@pytest.mark.parametrize(
    "refusal",
    [
        Reply(503, {"message": "Service Unavailable"}, {"Retry-After": "1"}),
        Reply(429, {"message": "API rate limit exceeded"}, {"Retry-After": "0"}),
        # GitHub's secondary rate limit: a 403 with Retry-After, requests still left.
        Reply(
            403,
            {"message": "You have exceeded a secondary rate limit."},
            {"Retry-After": "0", "X-RateLimit-Remaining": "4000"},
        ),
    ],
)
def test_rate_limits_and_5xx_are_retried(
    accounts: ForgeContract, tmp_path: Path, refusal: Reply
) -> None:
    accounts.failures[:] = [("POST", "/api/v3/user/repos", refusal)]
    done = publish(accounts, "github", project(tmp_path))
    assert done.returncode == 0, done.stderr
    posts = [r for r in accounts.requests if (r.method, r.path) == ("POST", "/api/v3/user/repos")]
    assert len(posts) == 2 and len(accounts.repos) == 1


def test_secrets_are_sealed_for_the_repository_key(accounts: ForgeContract, tmp_path: Path) -> None:
    from codeforge.app.publish import Publisher, PublishRequest
    from codeforge.integrations.forge_repos import GitHubRepos
    from codeforge.integrations.gitpush import HttpsPusher
    from codeforge.integrations.retry import RetryPolicy

    host = accounts.url
    repos = GitHubRepos(host, GH, "octocat", RetryPolicy(sleep=lambda _s: None))
    publisher = Publisher(repos, HttpsPusher(), None, lambda: datetime.now(UTC))
    request = PublishRequest(
        project(tmp_path), "github", host, secrets={"DEPLOY_KEY": "s3cret-value-123"}
    )
    result = publisher.publish(request)
    assert "secret DEPLOY_KEY" in result.steps
    [repo] = accounts.repos.values()
    sealed = base64.b64decode(repo.secrets["DEPLOY_KEY"])
    assert SealedBox(repo.key).decrypt(sealed) == b"s3cret-value-123"
    assert all(b"s3cret-value-123" not in r.body for r in accounts.requests)


def test_gitlab_variables_are_masked_and_protected(accounts: ForgeContract, tmp_path: Path) -> None:
    from codeforge.app.publish import Publisher, PublishRequest
    from codeforge.integrations.forge_gitlab import GitLabRepos
    from codeforge.integrations.gitpush import HttpsPusher
    from codeforge.integrations.retry import RetryPolicy

    repos = GitLabRepos(accounts.url, GL, "ada", RetryPolicy(sleep=lambda _s: None))
    publisher = Publisher(repos, HttpsPusher(), None, lambda: datetime.now(UTC))
    path = project(tmp_path)
    request = PublishRequest(path, "gitlab", accounts.url, secrets={"API_KEY": "abcdefgh1234"})
    publisher.publish(request)
    publisher.publish(dataclasses.replace(request, secrets={"API_KEY": "zyxwvuts9876"}))
    [repo] = accounts.repos.values()
    assert repo.variables["API_KEY"]["value"] == "zyxwvuts9876"
    assert (
        repo.variables["API_KEY"]["masked"] is True
        and repo.variables["API_KEY"]["protected"] is True
    )


def made_from_blueprint(tmp_path: Path, name: str = "shop") -> tuple[BlueprintRepo, Path]:
    """Blueprint ``tiny`` 1.0.0 in a git repository, and project ``name`` made from it."""
    blueprint = BlueprintRepo(tmp_path / "bp")
    blueprint.commit("one", "v1.0.0")
    made = console(
        "init", name, "-t", str(blueprint.path), "--defaults", "-o", str(tmp_path / "out")
    )
    assert made.returncode == 0, made.stderr
    return blueprint, tmp_path / "out" / name


def test_the_record_shows_the_remote(accounts: ForgeContract, tmp_path: Path) -> None:
    _, path = made_from_blueprint(tmp_path)
    done = publish(accounts, "github", path, "--owner", "acme")
    assert done.returncode == 0, done.stderr
    [row] = json.loads(console("list", "projects", "--json").stdout)
    assert (row["provider"], row["remote_url"]) == ("github", f"{accounts.url}/acme/shop")
    assert row["published_at"] is not None
    table = console("list", "projects", env={"COLUMNS": "300"}).stdout
    assert f"{accounts.url}/acme/shop" in table
    no_token_leaks(accounts, path, done.stdout, done.stderr, json.dumps(row))
