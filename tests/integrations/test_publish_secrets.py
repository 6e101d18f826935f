"""CI secrets a blueprint declares (``publish.secrets``), stored by ``publish`` (console script).

GitHub: sealed for the repository's own Curve25519 key (the contract server keeps
the private half, so the test opens what was sent). GitLab: masked, protected,
updated on a rerun. A missing value creates nothing; no value is ever written
anywhere in clear.
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import pytest
from cli_support import Terminal, console
from nacl.exceptions import CryptoError
from nacl.public import SealedBox

from codeforge.errors import ValidationError

from .forge_contract import ForgeContract, Reply
from .forge_repos_contract import FakeRepo
from .test_publish import ENV, GH, GL, TOKENS, accounts

__all__ = ["accounts"]

ROOT = Path(__file__).resolve().parents[2]
VALUE = "dEpLoY-" + "s3cr3t" * 3  # the answer: grepped for everywhere
CRED = "glpat-" + "CiRegistry" * 2  # a stored credential given as a secret's value
DEFINITION = """\
name: vault
version: 1.0.0
variables:
  deploy_token:
    type: secret
    default: ""
    required: false
  registry:
    type: bool
    default: true
publish:
  secrets:
    - name: DEPLOY_TOKEN
      answer: deploy_token
    - name: REGISTRY_TOKEN
      credential: gitlab
      host: "{host}"
      credential_name: ci
      when: "{{{{ registry }}}}"
"""


def blueprint(tmp_path: Path, forge: ForgeContract) -> Path:
    root = tmp_path / "vault-bp"
    (root / "template").mkdir(parents=True, exist_ok=True)
    (root / "blueprint.yaml").write_text(DEFINITION.format(host=forge.url), encoding="utf-8")
    (root / "template" / "README.md").write_text("# {{ project_name }}\n", encoding="utf-8")
    return root


def store_credential(forge: ForgeContract, token: str = CRED) -> None:
    done = console(
        "credentials", "set", "gitlab", "--host", forge.url, "--name", "ci", "--token-stdin",
        input=token + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def init(forge: ForgeContract, tmp_path: Path, provider: str, name: str, *args: str):  # type: ignore[no-untyped-def]
    return console(
        "init", name, "-t", str(blueprint(tmp_path, forge)), "--defaults",
        "-o", str(tmp_path / "out"), "--publish", provider, "--host", forge.url, "--trust",
        *args, env={ENV[provider]: TOKENS[provider]},
    )  # fmt: skip


def publish(forge: ForgeContract, provider: str, path: Path, env: dict[str, str]):  # type: ignore[no-untyped-def]
    return console(
        "publish", str(path), "--to", provider, "--host", forge.url, "--trust",
        env={ENV[provider]: TOKENS[provider], **env},
    )  # fmt: skip


def opened(repo: FakeRepo, name: str, key_of: FakeRepo | None = None) -> bytes:
    sealed = base64.b64decode(repo.secrets[name])
    return SealedBox((key_of or repo).key).decrypt(sealed)


def assert_nowhere(value: str, *roots: Path, texts: tuple[str, ...] = ()) -> None:
    """``value`` is in no file under ``roots`` (answers file, .git, journal, database, logs)."""
    needle = value.encode()
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert needle not in path.read_bytes(), path
    for text in texts:
        assert value not in text


def test_github_secrets_open_only_with_their_repository_key(
    accounts: ForgeContract, tmp_path: Path, isolated_dirs: dict[str, Path]
) -> None:
    store_credential(accounts)
    one = init(accounts, tmp_path, "github", "one", "--data", f"deploy_token={VALUE}")
    two = init(accounts, tmp_path, "github", "two", "--data", f"deploy_token={VALUE}")
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    assert "secret DEPLOY_TOKEN" in one.stdout and "secret REGISTRY_TOKEN" in one.stdout
    first, second = (accounts.repos[f"github:octocat/{n}"] for n in ("one", "two"))
    assert opened(first, "DEPLOY_TOKEN") == opened(second, "DEPLOY_TOKEN") == VALUE.encode()
    assert opened(first, "REGISTRY_TOKEN") == CRED.encode()
    with pytest.raises(CryptoError):
        opened(first, "DEPLOY_TOKEN", key_of=second)
    with pytest.raises(CryptoError):
        opened(second, "REGISTRY_TOKEN", key_of=first)
    puts = [r for r in accounts.requests if "/actions/secrets/" in r.path and r.method == "PUT"]
    assert len(puts) == 4
    assert all(b"key_id" in r.body for r in puts)
    for value in (VALUE, CRED):
        assert all(value.encode() not in r.body and value not in r.path for r in accounts.requests)
        assert_nowhere(
            value,
            tmp_path / "out",
            isolated_dirs["data"],
            isolated_dirs["cache"],
            texts=(one.stdout, one.stderr, two.stdout, two.stderr),
        )


def test_gitlab_variables_are_masked_protected_and_updated_on_a_rerun(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    store_credential(accounts)
    done = init(accounts, tmp_path, "gitlab", "shop", "--data", f"deploy_token={VALUE}")
    assert done.returncode == 0, done.stderr
    [repo] = accounts.repos.values()
    assert repo.variables["DEPLOY_TOKEN"]["value"] == VALUE
    assert repo.variables["REGISTRY_TOKEN"]["value"] == CRED
    for variable in repo.variables.values():
        assert (variable["masked"], variable["protected"]) in ((True, True), ("true", "true"))
    # Later: the secret answer was never saved, so `publish` takes it from the environment.
    newer = "n3wer-" + VALUE
    again = publish(
        accounts, "gitlab", tmp_path / "out" / "shop",
        {"CODEFORGE_PUBLISH_SECRET_DEPLOY_TOKEN": newer},
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert repo.variables["DEPLOY_TOKEN"]["value"] == newer
    updates = [r for r in accounts.requests if r.method == "PUT" and "/variables/" in r.path]
    assert {r.path.rsplit("/", 1)[1] for r in updates} == {"DEPLOY_TOKEN", "REGISTRY_TOKEN"}
    assert newer not in again.stdout + again.stderr


def test_a_missing_answer_is_an_error_before_anything_remote(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    store_credential(accounts)
    made = console(
        "init", "shop", "-t", str(blueprint(tmp_path, accounts)), "--defaults",
        "-o", str(tmp_path / "out"),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    done = publish(accounts, "github", tmp_path / "out" / "shop", {})
    assert done.returncode == 2, done.stderr
    assert "no value for the CI secret DEPLOY_TOKEN (the answer 'deploy_token')" in done.stderr
    assert "CODEFORGE_PUBLISH_SECRET_DEPLOY_TOKEN" in done.stderr
    assert accounts.repos == {} and accounts.mutating() == []


def test_a_missing_credential_is_an_error_before_anything_remote(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    done = init(accounts, tmp_path, "gitlab", "shop", "--data", f"deploy_token={VALUE}")
    assert done.returncode == 15, done.stderr
    assert "the CI secret REGISTRY_TOKEN needs the gitlab credential 'ci'" in done.stderr
    assert "codeforge credentials set gitlab" in done.stderr
    assert accounts.repos == {} and accounts.mutating() == []
    assert VALUE not in done.stdout + done.stderr


def test_an_untrusted_blueprint_cannot_take_a_stored_credential(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    """Its CI code could read the secret: copying a token there needs --trust."""
    store_credential(accounts)
    made = console(
        "init", "shop", "-t", str(blueprint(tmp_path, accounts)), "--defaults",
        "-o", str(tmp_path / "out"), "--data", f"deploy_token={VALUE}",
        "--publish", "gitlab", "--host", accounts.url,
        env={ENV["gitlab"]: TOKENS["gitlab"]},
    )  # fmt: skip
    assert made.returncode == 6, made.stderr
    assert "asks to store the gitlab credential 'ci' as the CI secret REGISTRY_TOKEN" in made.stderr
    assert "--trust" in made.stderr
    assert accounts.repos == {} and accounts.mutating() == []
    env = {"CODEFORGE_PUBLISH_SECRET_DEPLOY_TOKEN": VALUE, ENV["gitlab"]: TOKENS["gitlab"]}
    again = console(
        "publish", str(tmp_path / "out" / "shop"), "--to", "gitlab", "--host", accounts.url,
        env=env,
    )  # fmt: skip
    assert again.returncode == 6, again.stderr
    assert accounts.repos == {} and accounts.mutating() == []
    assert CRED not in made.stdout + made.stderr + again.stdout + again.stderr


def test_a_value_gitlab_cannot_mask_is_refused_before_anything_remote(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    store_credential(accounts)
    unmaskable = "has spaces in it " + VALUE
    done = init(accounts, tmp_path, "gitlab", "shop", "--data", f"deploy_token={unmaskable}")
    assert done.returncode == ValidationError.exit_code, done.stderr
    assert "GitLab cannot mask the value of the CI secret DEPLOY_TOKEN" in done.stderr
    assert unmaskable not in done.stdout + done.stderr
    assert accounts.repos == {} and accounts.mutating() == []


def test_the_contract_server_refuses_unmaskable_values_as_gitlab_does(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    from codeforge.integrations.forge_gitlab import GitLabRepos
    from codeforge.integrations.retry import RetryPolicy

    repos = GitLabRepos(accounts.url, GL, "ada", RetryPolicy(sleep=lambda _s: None))
    remote = repos.create("ada", "shop", "private", "")
    for bad in ("short", "with space inside", "line\nbreak-1234"):
        with pytest.raises(ValidationError) as info:
            repos.set_secret(remote, "TOKEN", bad)
        assert "value is invalid" in info.value.message and bad not in info.value.message
    assert accounts.repos["gitlab:ada/shop"].variables == {}


def test_a_false_when_and_an_optional_empty_answer_leave_secrets_out(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    definition = DEFINITION.replace(
        "      answer: deploy_token\n", "      answer: deploy_token\n      required: false\n"
    )
    root = blueprint(tmp_path, accounts)
    (root / "blueprint.yaml").write_text(definition.format(host=accounts.url), encoding="utf-8")
    done = console(
        "init", "shop", "-t", str(root), "--defaults", "-o", str(tmp_path / "out"),
        "--data", "registry=false", "--publish", "github", "--host", accounts.url,
        env={"GITHUB_TOKEN": GH},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "secret" not in done.stdout
    [repo] = accounts.repos.values()
    assert repo.secrets == {}


def test_the_builtin_library_declares_its_pypi_token(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    token = "pypi-" + "AgEIcHlwaS5vcmc" * 3
    done = console(
        "init", "lib", "-t", "lib-python", "--defaults", "-o", str(tmp_path / "out"),
        "--data", f"pypi_token={token}", "--publish", "github", "--host", accounts.url,
        env={"GITHUB_TOKEN": GH},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [repo] = accounts.repos.values()
    assert opened(repo, "PYPI_API_TOKEN") == token.encode()
    assert_nowhere(token, tmp_path / "out", texts=(done.stdout, done.stderr))


def test_the_documented_example_publishes(accounts: ForgeContract, tmp_path: Path) -> None:
    """docs/publishing.md's blueprint, published as its commands say (answers from a file)."""
    text = (ROOT / "docs" / "publishing.md").read_text(encoding="utf-8")
    section = text.split("## CI secrets", 1)[1].split("\n## ", 1)[0]
    [example] = [
        b for b in re.findall(r"```yaml\n(.*?)```", section, re.S) if b.startswith("name:")
    ]
    root = tmp_path / "service"
    (root / "template").mkdir(parents=True)
    (root / "blueprint.yaml").write_text(example, encoding="utf-8")
    (root / "template" / "README.md").write_text("# {{ project_name }}\n", encoding="utf-8")
    release = "ghp_" + "ReleaseToken" * 3
    stored = console(
        "credentials", "set", "github", "--host", accounts.url, "--name", "release",
        "--token-stdin", input=release + "\n",
    )  # fmt: skip
    assert stored.returncode == 0, stored.stderr
    answers = tmp_path / "answers.yml"
    answers.write_text(f"registry_token: {VALUE}\n", encoding="utf-8")
    done = console(
        "init", "shop", "-t", str(root), "--data-file", str(answers), "-o", str(tmp_path / "out"),
        "--trust", "--publish", "github", "--host", accounts.url, env={"GITHUB_TOKEN": GH},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [repo] = accounts.repos.values()
    assert opened(repo, "REGISTRY_TOKEN") == VALUE.encode()
    assert opened(repo, "RELEASE_TOKEN") == release.encode()
    later = publish(
        accounts, "github", tmp_path / "out" / "shop",
        {"CODEFORGE_PUBLISH_SECRET_REGISTRY_TOKEN": "r0tated-" + VALUE},
    )  # fmt: skip
    assert later.returncode == 0, later.stderr
    assert opened(repo, "REGISTRY_TOKEN") == ("r0tated-" + VALUE).encode()


def test_a_refused_secret_shows_no_value_even_with_debug(
    accounts: ForgeContract, tmp_path: Path, isolated_dirs: dict[str, Path]
) -> None:
    store_credential(accounts)
    made = console(
        "init", "shop", "-t", str(blueprint(tmp_path, accounts)), "--defaults",
        "-o", str(tmp_path / "out"),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    refusal = Reply(422, {"message": "Invalid request.", "documentation_url": "x"})
    accounts.failures[:] = [("PUT", "/api/v3/repos/octocat/shop/actions/secrets/", refusal)]
    done = console(
        "--debug", "publish", str(tmp_path / "out" / "shop"), "--to", "github", "--trust",
        "--host", accounts.url,
        env={"GITHUB_TOKEN": GH, "CODEFORGE_PUBLISH_SECRET_DEPLOY_TOKEN": VALUE},
    )  # fmt: skip
    assert done.returncode != 0
    assert "Traceback" in done.stderr and "Invalid request." in done.stderr
    for value in (VALUE, CRED):
        assert_nowhere(
            value, tmp_path / "out", isolated_dirs["data"], texts=(done.stdout, done.stderr)
        )


def test_a_dry_run_lists_the_secrets_and_sends_nothing(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    store_credential(accounts)
    made = console(
        "init", "shop", "-t", str(blueprint(tmp_path, accounts)), "--defaults",
        "-o", str(tmp_path / "out"),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    env = {"CODEFORGE_PUBLISH_SECRET_DEPLOY_TOKEN": VALUE}
    done = console(
        "publish", str(tmp_path / "out" / "shop"), "--to", "github", "--trust",
        "--host", accounts.url,
        "--dry-run", env={"GITHUB_TOKEN": GH, **env},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "secret DEPLOY_TOKEN" in done.stdout and "secret REGISTRY_TOKEN" in done.stdout
    assert VALUE not in done.stdout + done.stderr
    assert accounts.repos == {} and accounts.mutating() == []


def test_on_a_terminal_a_missing_answer_is_asked_without_echo(
    accounts: ForgeContract, tmp_path: Path
) -> None:
    store_credential(accounts)
    made = console(
        "init", "shop", "-t", str(blueprint(tmp_path, accounts)), "--defaults",
        "-o", str(tmp_path / "out"),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    term = Terminal(
        [
            "publish",
            str(tmp_path / "out" / "shop"),
            "--to",
            "github",
            "--trust",
            "--host",
            accounts.url,
        ],
        environ={**os.environ, "GITHUB_TOKEN": GH},
    )
    term.wait_for("Value of the CI secret DEPLOY_TOKEN (the answer 'deploy_token')")
    term.reply(VALUE)
    assert term.finish() == 0, term.seen
    assert VALUE not in term.seen  # not echoed
    [repo] = accounts.repos.values()
    assert opened(repo, "DEPLOY_TOKEN") == VALUE.encode()
