"""The built-in credential store: ``credentials.json`` in the config folder, tokens sealed.

The file (mode 0600, replaced atomically on every change) holds metadata in clear
and each token sealed with AES-GCM (:mod:`codeforge.integrations.cipher`) under
the key from :mod:`codeforge.integrations.keysource`. It is registered as the
default plugin (:mod:`codeforge.integrations.plugin`) under the name ``local``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from codeforge.core.credentials import (
    CredentialInfo,
    sort_infos,
)
from codeforge.errors import CredentialKeyError, UsageError
from codeforge.integrations.cipher import Cipher, new_key
from codeforge.integrations.keysource import (
    ENV_KEY,
    ENV_PREVIOUS,
    KeyHolder,
    env_key,
    key_from_secret,
    key_holder,
    write_private,
)
from codeforge.settings import Settings

STORE_FILE: Final = "credentials.json"
_FORMAT: Final = 1


def context(provider: str, host: str, name: str) -> bytes:
    """What a sealed token is bound to: moving it to another entry fails to open."""
    return f"{provider}\0{host}\0{name}".encode()


@dataclasses.dataclass
class _Entry:
    provider: str
    host: str
    name: str
    created_at: str
    last_used_at: str | None
    secret: str = dataclasses.field(repr=False)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.provider, self.host, self.name)

    def info(self) -> CredentialInfo:
        used = datetime.fromisoformat(self.last_used_at) if self.last_used_at else None
        return CredentialInfo(
            self.provider, self.host, self.name, datetime.fromisoformat(self.created_at), used
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class LocalCredentialStore:
    """Tokens in one sealed file; the key from the environment, the keyring or a key file."""

    def __init__(self, path: Path, holder: KeyHolder | None, env: Mapping[str, str]) -> None:
        self.path = path
        self._holder = holder  # None: the key comes from CODEFORGE_SECRET_KEY
        self._env = env
        self._cipher: Cipher | None = None

    def _read(self) -> list[_Entry]:
        try:
            data: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise UsageError(
                f"cannot read the credentials file: {exc}", where=str(self.path)
            ) from exc
        try:
            if data.get("format") != _FORMAT:
                raise ValueError(f"unknown format {data.get('format')!r}")
            return [_Entry(**item) for item in data["credentials"]]
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise UsageError(
                f"the credentials file is damaged: {exc}", where=str(self.path)
            ) from None

    def _write(self, entries: Sequence[_Entry]) -> None:
        body = {"format": _FORMAT, "credentials": [dataclasses.asdict(e) for e in entries]}
        write_private(self.path, json.dumps(body, indent=2))

    def _key(self, create: bool) -> Cipher | None:
        """The cipher; a key is made (and kept) only when ``create``, on the first ``put``."""
        if self._cipher is not None:
            return self._cipher
        key = env_key(self._env)
        if key is not None:
            self._cipher = Cipher(key, origin=ENV_KEY)
            return self._cipher
        assert self._holder is not None
        self._finish_rotation(self._holder)
        key = self._holder.load()
        if key is None:
            if not create:
                return None
            key = new_key()
            self._holder.save(key)
        self._cipher = Cipher(key, origin=self._holder.origin)
        return self._cipher

    def _finish_rotation(self, holder: KeyHolder) -> None:
        """Promote a pending key that the store was already re-encrypted under; else drop it."""
        pending = holder.load(pending=True)
        if pending is None:
            return
        entries = self._read()
        if entries and all(f".{Cipher(pending, origin='').key_id}." in e.secret for e in entries):
            holder.save(pending)
        holder.drop_pending()

    def _open(self, entry: _Entry) -> str:
        cipher = self._key(create=False)
        what = f"the {entry.provider} credential {entry.name!r} for {entry.host}"
        if cipher is None:
            raise CredentialKeyError(
                f"{what} is stored but no credentials key was found",
                hint=f"set {ENV_KEY} or restore the key it was stored with",
            )
        return cipher.open(entry.secret, context(*entry.key), what=what)

    def list(self) -> list[CredentialInfo]:
        """Every credential's metadata."""
        return sort_infos([e.info() for e in self._read()])

    def get(self, provider: str, host: str, name: str) -> str | None:
        """The token, with ``last used`` refreshed; None when there is none."""
        entries = self._read()
        for entry in entries:
            if entry.key == (provider, host, name):
                token = self._open(entry)
                entry.last_used_at = _now()
                self._write(entries)
                return token
        return None

    def put(self, provider: str, host: str, name: str, token: str) -> CredentialInfo:
        """Store or replace the token."""
        cipher = self._key(create=True)
        assert cipher is not None
        entries = [e for e in self._read() if e.key != (provider, host, name)]
        sealed = cipher.seal(token, context(provider, host, name))
        entry = _Entry(provider, host, name, _now(), None, sealed)
        self._write([*entries, entry])
        return entry.info()

    def remove(self, provider: str, host: str, name: str) -> bool:
        """Forget the token; False when there was none."""
        entries = self._read()
        kept = [e for e in entries if e.key != (provider, host, name)]
        if len(kept) == len(entries):
            return False
        self._write(kept)
        return True

    def rotate_key(self) -> int:
        """Re-encrypt every token under a new key (see docs/credentials.md for the env case)."""
        entries = self._read()
        if self._holder is None:
            previous = self._env.get(ENV_PREVIOUS, "")
            if not previous:
                raise UsageError(
                    f"the credentials key comes from {ENV_KEY}, which CodeForge cannot change",
                    hint=f"set {ENV_PREVIOUS} to the old value and {ENV_KEY} to a new one, then run it again",
                )
            old = Cipher(key_from_secret(previous, ENV_PREVIOUS), origin=ENV_PREVIOUS)
            new = self._key(create=True)
            assert new is not None
            self._write(_reseal(entries, [old, new], new))
            return len(entries)
        old_cipher = self._key(create=False)
        fresh = new_key()
        new = Cipher(fresh, origin=self._holder.origin)
        resealed = _reseal(entries, [c for c in (old_cipher,) if c is not None], new)
        self._holder.save(fresh, pending=True)
        self._write(resealed)
        self._holder.save(fresh)
        self._holder.drop_pending()
        self._cipher = new
        return len(entries)


def _reseal(entries: Sequence[_Entry], readers: Sequence[Cipher], new: Cipher) -> list[_Entry]:
    """Each entry opened with the reader whose key id it carries, sealed again under ``new``."""
    out = []
    for entry in entries:
        what = f"the {entry.provider} credential {entry.name!r} for {entry.host}"
        reader = next((c for c in readers if f".{c.key_id}." in entry.secret), None)
        if reader is None:
            raise CredentialKeyError(f"{what} was encrypted with a key that is not at hand")
        token = reader.open(entry.secret, context(*entry.key), what=what)
        out.append(dataclasses.replace(entry, secret=new.seal(token, context(*entry.key))))
    return out


@dataclasses.dataclass(frozen=True)
class LocalStoreFactory:
    """The ``local`` store: the config folder's ``credentials.json``."""

    name: str = "local"

    def open(self, settings: Settings, env: Mapping[str, str]) -> LocalCredentialStore:
        """The store in ``settings.config_dir``."""
        holder = None if env.get(ENV_KEY) else key_holder(settings.config_dir)
        return LocalCredentialStore(settings.config_dir / STORE_FILE, holder, env)
