"""``codeforge credentials test`` against the forge contract server, through the console script."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from cli_support import console

from codeforge.errors import CredentialError, NetworkError
from codeforge.integrations.forges import GitHubForge, GitLabForge

from .forge_contract import Account, ForgeContract

GH_TOKEN = "ghp_" + "ContractGood" * 3
GL_TOKEN = "glpat-" + "ContractGood" * 2


def _host(forge: ForgeContract) -> str:
    return forge.url  # http://127.0.0.1:PORT, kept with its scheme


def _set(provider: str, host: str, token: str) -> None:
    done = console("credentials", "set", provider, "--host", host, "--token-stdin", input=token)
    assert done.returncode == 0, done.stderr


def _no_token_in_urls(forge: ForgeContract, *tokens: str) -> None:
    assert forge.requests
    for request in forge.requests:
        assert not any(token in request.path for token in tokens), request.path


def test_github_success_prints_account_and_scopes(forge: ForgeContract) -> None:
    forge.tokens[GH_TOKEN] = Account("octocat", "The Octocat", ["repo", "workflow", "read:org"])
    _set("github", _host(forge), GH_TOKEN)
    done = console("credentials", "test", "github", "--host", _host(forge))
    assert done.returncode == 0, done.stderr
    assert f"github at {_host(forge)}: octocat (The Octocat)" in done.stdout
    assert "scopes: repo, workflow, read:org" in done.stdout
    assert GH_TOKEN not in done.stdout + done.stderr
    [request] = forge.requests
    assert (request.method, request.path) == ("GET", "/api/v3/user")
    assert request.headers["authorization"].endswith(GH_TOKEN)
    _no_token_in_urls(forge, GH_TOKEN)
    [row] = json.loads(console("credentials", "list", "--json").stdout)
    assert row["last_used_at"] is not None


def test_gitlab_success_reads_scopes_from_the_token_itself(forge: ForgeContract) -> None:
    forge.tokens[GL_TOKEN] = Account("ada", "Ada Lovelace", ["api", "read_user"])
    _set("gitlab", _host(forge), GL_TOKEN)
    done = console("credentials", "test", "gitlab", "--host", _host(forge), "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["login"], shown["scopes"], shown["origin"]) == (
        "ada",
        ["api", "read_user"],
        "stored:default",
    )
    paths = [r.path for r in forge.requests]
    assert paths == ["/api/v4/user", "/api/v4/personal_access_tokens/self"]
    assert all(r.headers.get("private-token") == GL_TOKEN for r in forge.requests)
    _no_token_in_urls(forge, GL_TOKEN)


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_an_invalid_token_names_provider_and_host(forge: ForgeContract, provider: str) -> None:
    _set(provider, _host(forge), "not-a-known-token")
    done = console("credentials", "test", provider, "--host", _host(forge))
    assert done.returncode == 15
    assert f"{provider} at {_host(forge)} refused the token (401" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 2  # one error line and its hint
    assert "not-a-known-token" not in done.stderr


@pytest.mark.parametrize(
    ("provider", "token", "scopes", "needed"),
    [
        ("github", GH_TOKEN, ["read:user"], "repo, workflow"),
        ("github", GH_TOKEN, ["repo"], "workflow"),
        ("gitlab", GL_TOKEN, ["read_user"], "api"),
    ],
)
def test_a_missing_scope_is_named(
    forge: ForgeContract, provider: str, token: str, scopes: list[str], needed: str
) -> None:
    forge.tokens[token] = Account("octocat", "The Octocat", scopes)
    _set(provider, _host(forge), token)
    done = console("credentials", "test", provider, "--host", _host(forge))
    assert done.returncode == 15
    assert f"lacks the scope {needed} that CodeForge needs" in done.stderr


def test_gitlab_403_insufficient_scope_is_a_clear_error(forge: ForgeContract) -> None:
    forge.tokens[GL_TOKEN] = Account("ada", "Ada", ["read_repository"])
    with pytest.raises(CredentialError, match=r"gitlab at .* denied the request \(403"):
        GitLabForge().whoami(_host(forge), GL_TOKEN)


def test_a_fine_grained_github_token_lists_no_scopes(forge: ForgeContract) -> None:
    forge.tokens[GH_TOKEN] = Account("octocat", "The Octocat", None)
    account = GitHubForge().whoami(_host(forge), GH_TOKEN)
    assert account.scopes is None and account.missing == ()


def test_environment_tokens_are_honoured(forge: ForgeContract) -> None:
    forge.tokens[GH_TOKEN] = Account("ci-bot", "CI", ["repo", "workflow"])
    done = console(
        "credentials", "test", "github", "--host", _host(forge), env={"GITHUB_TOKEN": GH_TOKEN}
    )
    assert done.returncode == 0, done.stderr
    assert "ci-bot" in done.stdout and "token: env:GITHUB_TOKEN" in done.stdout


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_network_down_is_exit_10_with_a_hint(provider: str) -> None:
    host = f"http://127.0.0.1:{_closed_port()}"
    env = {f"{provider.upper()}_TOKEN": "whatever-token", "NO_PROXY": "127.0.0.1"}
    done = console("credentials", "test", provider, "--host", host, env=env)
    assert done.returncode == 10, done.stderr
    assert f"cannot reach {provider} at {host}" in done.stderr
    assert "hint: check the network connection" in done.stderr
    with pytest.raises(NetworkError):
        (GitHubForge() if provider == "github" else GitLabForge()).whoami(host, "t")


LIVE = [
    ("github", "CODEFORGE_TEST_GITHUB_TOKEN", "github.com"),
    ("gitlab", "CODEFORGE_TEST_GITLAB_TOKEN", "gitlab.com"),
]


@pytest.mark.parametrize(("provider", "variable", "host"), LIVE)
def test_live_whoami(provider: str, variable: str, host: str) -> None:
    """Opt-in: against the real service when its test token is set (skipped otherwise)."""
    token = os.environ.get(variable)
    if not token:
        pytest.skip(f"set {variable} to run against {host}")
    done = console(
        "credentials", "test", provider, "--json", env={f"{provider.upper()}_TOKEN": token}
    )
    assert done.returncode in (0, 15), done.stderr
    assert token not in done.stdout + done.stderr
    if done.returncode == 0:
        assert json.loads(done.stdout)["login"]


@pytest.mark.parametrize("scopes", [None, ["read:user"]])
def test_debug_tracebacks_and_files_never_show_the_token(
    forge: ForgeContract, isolated_dirs: dict[str, Path], scopes: list[str] | None
) -> None:
    if scopes is not None:
        forge.tokens[GH_TOKEN] = Account("octocat", "The Octocat", scopes)
    _set("github", _host(forge), GH_TOKEN)
    done = console("--debug", "credentials", "test", "github", "--host", _host(forge))
    assert done.returncode == 15
    assert "Traceback" in done.stderr
    assert GH_TOKEN not in done.stdout + done.stderr
    for path in isolated_dirs["config"].rglob("*"):
        if path.is_file():
            assert GH_TOKEN not in path.read_text(errors="replace"), path
