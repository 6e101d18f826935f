"""``codeforge credentials`` through the real console script: exit codes and no token anywhere."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import console

TOKEN = "glpat-" + "Zz9SecretValue" * 2


def _all_text(folder: Path) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())


def test_set_list_remove(codeforge_dirs: dict[str, Path]) -> None:
    done = console(
        "credentials",
        "set",
        "gitlab",
        "--host",
        "https://GitLab.Example.com/",
        "--name",
        "work",
        "--token-stdin",
        input=TOKEN + "\n",
    )
    assert done.returncode == 0, done.stderr
    assert "stored gitlab credential 'work' for gitlab.example.com" in done.stderr
    listed = console("credentials", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert (row["provider"], row["host"], row["name"], row["last_used_at"]) == (
        "gitlab",
        "gitlab.example.com",
        "work",
        None,
    )
    table = console("credentials", "list", env={"COLUMNS": "200"})
    assert "gitlab.example.com" in table.stdout and "never" in table.stdout
    for text in (
        done.stdout,
        done.stderr,
        listed.stdout,
        table.stdout,
        _all_text(codeforge_dirs["config"]),
    ):
        assert TOKEN not in text
    gone = console(
        "credentials", "remove", "gitlab", "--host", "gitlab.example.com", "--name", "work"
    )
    assert gone.returncode == 0, gone.stderr
    again = console(
        "credentials", "remove", "gitlab", "--host", "gitlab.example.com", "--name", "work"
    )
    assert again.returncode == 8
    assert "no gitlab credential 'work' for gitlab.example.com" in again.stderr


def test_bad_input_exit_codes(codeforge_dirs: dict[str, Path]) -> None:
    unknown = console("credentials", "set", "bitbucket", "--token-stdin", input="t\n")
    assert unknown.returncode == 8
    assert "unknown provider 'bitbucket'" in unknown.stderr and "github, gitlab" in unknown.stderr
    empty = console("credentials", "set", "github", "--token-stdin", input="\n")
    assert empty.returncode == 2 and "the token is empty" in empty.stderr
    bad_name = console(
        "credentials", "set", "github", "--name", "../x", "--token-stdin", input="t\n"
    )
    assert bad_name.returncode == 2 and "invalid credential name" in bad_name.stderr
    bad_host = console(
        "credentials", "set", "github", "--host", "ftp://h", "--token-stdin", input="t\n"
    )
    assert bad_host.returncode == 2 and "invalid host" in bad_host.stderr
    assert not (codeforge_dirs["config"] / "credentials.json").exists()


def test_a_wrong_key_is_exit_15_and_the_debug_traceback_has_no_token(
    codeforge_dirs: dict[str, Path],
) -> None:
    first = {"CODEFORGE_SECRET_KEY": "a" * 40}
    assert (
        console("credentials", "set", "github", "--token-stdin", input=TOKEN, env=first).returncode
        == 0
    )
    wrong = {"CODEFORGE_SECRET_KEY": "b" * 40}
    done = console("--debug", "credentials", "test", "github", "--name", "default", env=wrong)
    assert done.returncode == 15
    assert "encrypted with another key" in done.stderr
    assert "Traceback" in done.stderr
    assert TOKEN not in done.stderr + done.stdout


def test_test_without_a_credential_names_what_to_do(codeforge_dirs: dict[str, Path]) -> None:
    done = console("credentials", "test", "github", "--host", "ghe.example.com")
    assert done.returncode == 15
    assert "no github credential 'default' for ghe.example.com" in done.stderr
    assert "GITHUB_TOKEN" in done.stderr


def test_rotate_key_keeps_tokens_usable(codeforge_dirs: dict[str, Path]) -> None:
    assert console("credentials", "set", "github", "--token-stdin", input=TOKEN).returncode == 0
    key_file = codeforge_dirs["config"] / "credentials.key"
    before = key_file.read_text()
    done = console("credentials", "rotate-key")
    assert done.returncode == 0, done.stderr
    assert "re-encrypted 1 credential(s)" in done.stderr
    assert key_file.read_text() != before
    assert TOKEN not in _all_text(codeforge_dirs["config"])


def test_rotate_key_server_re_seals_the_database(codeforge_dirs: dict[str, Path]) -> None:
    from codeforge.app import user_credentials
    from codeforge.db.engine import session_factory
    from codeforge.db.migrate import ensure_schema
    from codeforge.db.repositories import create_user
    from codeforge.settings import load_settings

    old = {"CODEFORGE_SECRET_KEY": "o" * 40}
    settings = load_settings()
    ensure_schema(settings.store_url)
    factory = session_factory(settings.store_url)
    with factory.begin() as session:
        user = create_user(session, "ada", "member")
        sealed = user_credentials.server_cipher(settings, old).seal(
            TOKEN, f"{user.id}\0github\0github.com\0default".encode()
        )
        key_id = user_credentials.server_cipher(settings, old).key_id
        from codeforge.db.credentials import put_credential

        put_credential(session, user.id, "github", "github.com", "default", sealed, key_id)
    new = {"CODEFORGE_SECRET_KEY": "n" * 40}
    refused = console("credentials", "rotate-key", "--server", env=new)
    assert refused.returncode == 15, refused.stderr
    assert "CODEFORGE_PREVIOUS_SECRET_KEY" in refused.stderr
    done = console(
        "credentials",
        "rotate-key",
        "--server",
        env={**new, "CODEFORGE_PREVIOUS_SECRET_KEY": old["CODEFORGE_SECRET_KEY"]},
    )
    assert done.returncode == 0, done.stderr
    assert "re-encrypted 1 credential(s)" in done.stderr
