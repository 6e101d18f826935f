"""AES-GCM for integration tokens at rest, with a key id so a wrong key is named, not guessed.

A sealed value reads ``v1.<key id>.<base64 nonce+ciphertext>``. The key id is a
short hash of the key: a value sealed under another key fails with a clear
:class:`CredentialKeyError` before decryption is tried, and a value that was
tampered with (or moved to another row: the associated data binds it to its
owner, provider, host and name) fails authentication, never yielding garbage.
"""

from __future__ import annotations

import base64
import hashlib
import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from codeforge.errors import CredentialKeyError

KEY_BYTES: Final = 32
_NONCE_BYTES: Final = 12
_VERSION: Final = "v1"


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 256-bit key for ``purpose`` from a longer-lived secret (HKDF-SHA256)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode())
    return hkdf.derive(secret)


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return os.urandom(KEY_BYTES)


class Cipher:
    """Seal and open short secrets under one key."""

    def __init__(self, key: bytes, *, origin: str) -> None:
        if len(key) != KEY_BYTES:
            raise CredentialKeyError(f"the credentials key from {origin} is not {KEY_BYTES} bytes")
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(b"codeforge-key-id\0" + key).hexdigest()[:16]
        self.origin = origin  # where the key came from, for messages (never the key)

    def __repr__(self) -> str:
        return f"Cipher(key_id={self.key_id!r}, origin={self.origin!r})"

    def seal(self, plaintext: str, context: bytes) -> str:
        """Encrypt ``plaintext`` bound to ``context`` (who and what it belongs to)."""
        nonce = os.urandom(_NONCE_BYTES)
        body = self._aead.encrypt(nonce, plaintext.encode(), context)
        return f"{_VERSION}.{self.key_id}.{base64.urlsafe_b64encode(nonce + body).decode()}"

    def open(self, sealed: str, context: bytes, *, what: str) -> str:
        """Decrypt a value from :meth:`seal`; CredentialKeyError naming ``what`` otherwise."""
        version, _, rest = sealed.partition(".")
        key_id, _, payload = rest.partition(".")
        if version != _VERSION or not payload:
            raise CredentialKeyError(f"{what} is not a sealed value this version can read")
        if key_id != self.key_id:
            raise CredentialKeyError(
                f"{what} was encrypted with another key (key id {key_id}; "
                f"the key from {self.origin} has id {self.key_id})",
                hint="use the key it was stored with, or remove and set the credential again",
            )
        try:
            raw = base64.urlsafe_b64decode(payload.encode())
            clear = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context)
        except (InvalidTag, ValueError) as exc:
            raise CredentialKeyError(
                f"{what} failed authentication: it was changed or belongs elsewhere"
            ) from exc
        return clear.decode()
