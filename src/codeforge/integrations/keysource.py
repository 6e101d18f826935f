"""Where the CLI's credentials key lives: ``CODEFORGE_SECRET_KEY``, the OS keyring, or a key file.

Precedence (as for every setting, the environment first):

1. ``CODEFORGE_SECRET_KEY`` (at least 32 characters): the key is derived from it,
   so CI can hold one secret instead of a file;
2. the OS keyring through ``keyring``, when a usable backend exists (not the
   ``fail`` or ``null`` ones), entry ``codeforge`` / ``credentials-key``;
3. ``credentials.key`` in the config folder, created 0600 on first use; a file
   that others can read is refused.

A rotation writes the new key as *pending* first (``credentials-key-next``,
``credentials.key.next``), then the re-encrypted store, then promotes it: a
rotation cut short is finished by the next command that opens the store.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Protocol

from codeforge.errors import CredentialKeyError, UsageError
from codeforge.integrations.cipher import KEY_BYTES, derive_key

ENV_KEY: Final = "CODEFORGE_SECRET_KEY"
ENV_PREVIOUS: Final = "CODEFORGE_PREVIOUS_SECRET_KEY"
MIN_SECRET: Final = 32
KEY_FILE: Final = "credentials.key"
SERVICE: Final = "codeforge"
ENTRY: Final = "credentials-key"
PURPOSE: Final = "codeforge local credentials v1"


def key_from_secret(value: str, name: str) -> bytes:
    """The key derived from an environment secret; UsageError when it is too short."""
    if len(value) < MIN_SECRET:
        raise UsageError(
            f"{name} is {len(value)} characters; it needs at least {MIN_SECRET}",
            where=name,
            hint='make one with: python -c "import secrets; print(secrets.token_hex(32))"',
        )
    return derive_key(value.encode(), PURPOSE)


class KeyHolder(Protocol):
    """A place a random key is kept, with room for a pending one during a rotation."""

    origin: str

    def load(self, pending: bool = False) -> bytes | None:
        """The key (or the pending one), None when there is none yet."""

    def save(self, key: bytes, pending: bool = False) -> None:
        """Keep ``key`` (as the pending one)."""

    def drop_pending(self) -> None:
        """Forget the pending key."""


def _encode(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def _decode(text: str, origin: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError) as exc:
        raise CredentialKeyError(f"the credentials key in {origin} is not valid base64") from exc
    if len(key) != KEY_BYTES:
        raise CredentialKeyError(f"the credentials key in {origin} is not {KEY_BYTES} bytes")
    return key


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, readable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class FileKey:
    """``credentials.key`` in the config folder, 0600."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / KEY_FILE
        self.origin = f"the key file {self.path}"

    def _file(self, pending: bool) -> Path:
        return self.path.with_name(KEY_FILE + ".next") if pending else self.path

    def load(self, pending: bool = False) -> bytes | None:
        path = self._file(pending)
        try:
            st = path.stat()
            text = path.read_text(encoding="ascii")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise CredentialKeyError(f"cannot read the credentials key {path}: {exc}") from exc
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CredentialKeyError(
                f"the credentials key {path} can be read by others (mode {st.st_mode & 0o777:o})",
                hint=f"chmod 600 {path}",
            )
        return _decode(text, str(path))

    def save(self, key: bytes, pending: bool = False) -> None:
        write_private(self._file(pending), _encode(key) + "\n")

    def drop_pending(self) -> None:
        self._file(True).unlink(missing_ok=True)


class KeyringKey:
    """The OS keyring (Secret Service, macOS Keychain, Windows Credential Locker)."""

    origin = "the OS keyring"

    def __init__(self, backend: object) -> None:
        self._backend = backend

    def load(self, pending: bool = False) -> bytes | None:
        text = self._backend.get_password(SERVICE, ENTRY + ("-next" if pending else ""))  # type: ignore[attr-defined]
        return None if text is None else _decode(str(text), self.origin)

    def save(self, key: bytes, pending: bool = False) -> None:
        self._backend.set_password(SERVICE, ENTRY + ("-next" if pending else ""), _encode(key))  # type: ignore[attr-defined]

    def drop_pending(self) -> None:
        import keyring.errors

        try:
            self._backend.delete_password(SERVICE, ENTRY + "-next")  # type: ignore[attr-defined]
        except keyring.errors.PasswordDeleteError:
            pass


def usable_keyring() -> KeyringKey | None:
    """The OS keyring when ``keyring`` found a working backend, else None."""
    try:
        import keyring
        from keyring.backends import fail, null
    except ImportError:
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring | null.Keyring) or getattr(backend, "priority", 0) <= 0:
        return None
    return KeyringKey(backend)


def key_holder(config_dir: Path) -> KeyHolder:
    """The keyring when usable, otherwise the key file in ``config_dir``."""
    return usable_keyring() or FileKey(config_dir)


def env_key(env: Mapping[str, str]) -> bytes | None:
    """The key derived from ``CODEFORGE_SECRET_KEY``, None when it is not set."""
    value = env.get(ENV_KEY, "")
    return key_from_secret(value, ENV_KEY) if value else None
