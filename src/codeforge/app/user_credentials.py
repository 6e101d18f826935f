"""Users' credentials on the server: sealed under a key derived from the server secret.

The server secret is ``CODEFORGE_SECRET_KEY`` or the data folder's ``secret_key``
(``codeforge.cache.sessions.server_secret``); the credentials key is derived from
it with HKDF for this one purpose. Each sealed token is bound to its owner's id,
provider, host and name: copied onto another row, it does not open.

``rotate`` re-encrypts every row after the server secret changed: it reads rows
sealed under the previous secret (``CODEFORGE_PREVIOUS_SECRET_KEY``) and seals them
again under the current one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from sqlalchemy.orm import Session

from codeforge.app.context import AppContext
from codeforge.app.registries import REGISTRY, check_secret
from codeforge.cache.sessions import server_secret
from codeforge.core.credentials import CredentialInfo, check_token
from codeforge.db.credentials import all_credentials, find_credential, put_credential
from codeforge.db.credentials import list_credentials as _list
from codeforge.db.models import Credential, utcnow
from codeforge.errors import CredentialKeyError, NotFoundError, UsageError, ValidationError
from codeforge.integrations.cipher import Cipher, derive_key
from codeforge.integrations.keysource import ENV_PREVIOUS, MIN_SECRET
from codeforge.settings import Settings

PURPOSE: Final = "codeforge server credentials v1"


def server_cipher(settings: Settings, env: Mapping[str, str] | None = None) -> Cipher:
    """The cipher for users' credentials, from the server secret."""
    return Cipher(
        derive_key(server_secret(settings.data_dir, env), PURPOSE), origin="the server secret"
    )


def _context(user_id: int, provider: str, host: str, name: str) -> bytes:
    return f"{user_id}\0{provider}\0{host}\0{name}".encode()


def _info(row: Credential) -> CredentialInfo:
    return CredentialInfo(row.provider, row.host, row.name, row.created_at, row.last_used_at)


def _what(row: Credential) -> str:
    return f"the {row.provider} credential {row.name!r} for {row.host}"


def list_for(ctx: AppContext, user_id: int) -> list[CredentialInfo]:
    """The user's credentials' metadata."""
    with ctx.read() as session:
        return [_info(row) for row in _list(session, user_id)]


def put(
    session: Session, ctx: AppContext, user_id: int, key: tuple[str, str, str], token: str
) -> CredentialInfo:
    """Seal and store the user's token for ``key`` = (provider, host, name)."""
    clear = check_token(token)
    if key[0] == REGISTRY.name:
        try:
            check_secret(clear)
        except UsageError:  # its message names the CLI; never the secret
            raise ValidationError(
                f"a docker credential is USER:PASSWORD for the registry {key[1]}", where="token"
            ) from None
    cipher = server_cipher(ctx.settings)
    sealed = cipher.seal(clear, _context(user_id, *key))
    return _info(put_credential(session, user_id, *key, sealed, cipher.key_id))


def remove(session: Session, user_id: int, key: tuple[str, str, str]) -> CredentialInfo:
    """Delete the user's credential; NotFoundError when the user has none by that key."""
    row = find_credential(session, user_id, *key)
    if row is None:
        raise NotFoundError(f"no {key[0]} credential {key[2]!r} for {key[1]}")
    info = _info(row)
    session.delete(row)
    return info


def token(session: Session, ctx: AppContext, user_id: int, key: tuple[str, str, str]) -> str:
    """The user's own token (``last used`` refreshed); CredentialError-family when unusable."""
    row = find_credential(session, user_id, *key)
    if row is None:
        raise NotFoundError(f"no {key[0]} credential {key[2]!r} for {key[1]}")
    clear = server_cipher(ctx.settings).open(row.secret, _context(user_id, *key), what=_what(row))
    row.last_used_at = utcnow()
    return clear


def rotate(session: Session, settings: Settings, env: Mapping[str, str]) -> int:
    """Re-seal every row under the current server secret (old rows: the previous secret)."""
    current = server_cipher(settings, env)
    readers = [current]
    previous = env.get(ENV_PREVIOUS, "")
    if previous:
        if len(previous) < MIN_SECRET:
            raise UsageError(
                f"{ENV_PREVIOUS} is shorter than {MIN_SECRET} characters", where=ENV_PREVIOUS
            )
        readers.append(Cipher(derive_key(previous.encode(), PURPOSE), origin=ENV_PREVIOUS))
    count = 0
    for row in all_credentials(session):
        reader = next((c for c in readers if c.key_id == row.key_id), None)
        if reader is None:
            raise CredentialKeyError(
                f"{_what(row)} of user {row.user_id} was sealed under another server secret",
                hint=f"set {ENV_PREVIOUS} to the secret it was stored with",
            )
        context = _context(row.user_id, row.provider, row.host, row.name)
        clear = reader.open(row.secret, context, what=_what(row))
        row.secret, row.key_id = current.seal(clear, context), current.key_id
        count += 1
    return count


def rotate_server(settings: Settings, env: Mapping[str, str]) -> int:
    """``rotate`` on the configured database (its schema made current first)."""
    from codeforge.db.engine import session_factory
    from codeforge.db.migrate import ensure_schema

    ensure_schema(settings.store_url)
    with session_factory(settings.store_url).begin() as session:
        return rotate(session, settings, env)
