"""The built-in credential store: sealed at rest, wrong keys named, rotation, key sources."""

from __future__ import annotations

import os
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from codeforge.errors import CredentialKeyError, UsageError
from codeforge.integrations.credentials import STORE_FILE, LocalCredentialStore, LocalStoreFactory
from codeforge.integrations.keysource import FileKey, KeyringKey, key_holder, usable_keyring
from codeforge.settings import load_settings

TOKEN = "ghp_" + "S3cretT0ken" * 3
ENV_SECRET = "x" * 40


def _open(env: dict[str, str] | None = None) -> LocalCredentialStore:
    return LocalStoreFactory().open(load_settings(), env or {})


def _config(isolated_dirs: dict[str, Path]) -> Path:
    return isolated_dirs["config"]


def test_put_get_list_remove_round_trip(isolated_dirs: dict[str, Path]) -> None:
    store = _open()
    assert store.list() == []
    info = store.put("github", "github.com", "default", TOKEN)
    assert (info.provider, info.host, info.name, info.last_used_at) == (
        "github",
        "github.com",
        "default",
        None,
    )
    assert store.get("github", "github.com", "default") == TOKEN
    assert store.get("github", "github.com", "other") is None
    [listed] = _open().list()
    assert listed.last_used_at is not None
    assert store.remove("github", "github.com", "default")
    assert not store.remove("github", "github.com", "default")
    assert store.list() == []


def test_files_are_private_and_hold_no_token(isolated_dirs: dict[str, Path]) -> None:
    _open().put("gitlab", "gitlab.example.com", "work", TOKEN)
    folder = _config(isolated_dirs)
    for path in folder.iterdir():
        assert os.stat(path).st_mode & 0o077 == 0, path
        assert TOKEN not in path.read_text(encoding="utf-8"), path


def test_a_replaced_key_file_is_a_clear_error(isolated_dirs: dict[str, Path]) -> None:
    _open().put("github", "github.com", "default", TOKEN)
    FileKey(_config(isolated_dirs)).save(os.urandom(32))
    with pytest.raises(CredentialKeyError, match="encrypted with another key"):
        _open().get("github", "github.com", "default")


def test_a_wrong_environment_key_is_a_clear_error(isolated_dirs: dict[str, Path]) -> None:
    _open({"CODEFORGE_SECRET_KEY": ENV_SECRET}).put("github", "github.com", "default", TOKEN)
    with pytest.raises(CredentialKeyError, match="CODEFORGE_SECRET_KEY"):
        _open({"CODEFORGE_SECRET_KEY": "y" * 40}).get("github", "github.com", "default")
    with pytest.raises(UsageError, match="at least 32"):
        _open({"CODEFORGE_SECRET_KEY": "short"}).get("github", "github.com", "default")


def test_a_token_moved_to_another_entry_does_not_open(isolated_dirs: dict[str, Path]) -> None:
    store = _open()
    store.put("github", "github.com", "default", TOKEN)
    path = _config(isolated_dirs) / STORE_FILE
    path.write_text(path.read_text().replace('"default"', '"stolen"'))
    with pytest.raises(CredentialKeyError, match="failed authentication"):
        _open().get("github", "github.com", "stolen")


def test_rotate_key_re_encrypts_everything(isolated_dirs: dict[str, Path]) -> None:
    store = _open()
    store.put("github", "github.com", "default", TOKEN)
    store.put("gitlab", "gitlab.com", "default", TOKEN + "2")
    before = (_config(isolated_dirs) / STORE_FILE).read_text()
    old_key = FileKey(_config(isolated_dirs)).load()
    assert _open().rotate_key() == 2
    after = (_config(isolated_dirs) / STORE_FILE).read_text()
    assert FileKey(_config(isolated_dirs)).load() != old_key
    assert before != after
    fresh = _open()
    assert fresh.get("github", "github.com", "default") == TOKEN
    assert fresh.get("gitlab", "gitlab.com", "default") == TOKEN + "2"


def test_an_interrupted_rotation_is_finished_by_the_next_open(
    isolated_dirs: dict[str, Path],
) -> None:
    store = _open()
    store.put("github", "github.com", "default", TOKEN)
    holder = FileKey(_config(isolated_dirs))
    old = holder.load()
    assert old is not None
    store.rotate_key()
    new = holder.load()
    # As if the process died after writing the store but before promoting the key.
    holder.save(old)
    assert new is not None
    holder.save(new, pending=True)
    assert _open().get("github", "github.com", "default") == TOKEN
    assert holder.load() == new
    assert holder.load(pending=True) is None


def test_rotation_with_environment_keys(isolated_dirs: dict[str, Path]) -> None:
    old_env = {"CODEFORGE_SECRET_KEY": ENV_SECRET}
    _open(old_env).put("github", "github.com", "default", TOKEN)
    with pytest.raises(UsageError, match="cannot change") as refused:
        _open(old_env).rotate_key()
    assert "CODEFORGE_PREVIOUS_SECRET_KEY" in (refused.value.hint or "")
    new_env = {"CODEFORGE_SECRET_KEY": "n" * 40, "CODEFORGE_PREVIOUS_SECRET_KEY": ENV_SECRET}
    assert _open(new_env).rotate_key() == 1
    assert _open({"CODEFORGE_SECRET_KEY": "n" * 40}).get("github", "github.com", "default") == TOKEN
    with pytest.raises(CredentialKeyError):
        _open(old_env).get("github", "github.com", "default")


def test_a_key_file_others_can_read_is_refused(isolated_dirs: dict[str, Path]) -> None:
    _open().put("github", "github.com", "default", TOKEN)
    path = _config(isolated_dirs) / "credentials.key"
    path.chmod(0o644)
    with pytest.raises(CredentialKeyError, match="read by others") as refused:
        _open().get("github", "github.com", "default")
    assert refused.value.hint == f"chmod 600 {path}"


class MemoryKeyring(KeyringBackend):
    """A working keyring backend that keeps its entries in this process."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


def test_a_usable_keyring_holds_the_key_instead_of_a_file(
    isolated_dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert usable_keyring() is None  # the fail backend the tests run with
    backend = MemoryKeyring()
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    assert isinstance(key_holder(_config(isolated_dirs)), KeyringKey)
    store = _open()
    store.put("github", "github.com", "default", TOKEN)
    assert ("codeforge", "credentials-key") in backend.entries
    assert not (_config(isolated_dirs) / "credentials.key").exists()
    assert _open().rotate_key() == 1
    assert ("codeforge", "credentials-key-next") not in backend.entries
    assert _open().get("github", "github.com", "default") == TOKEN
