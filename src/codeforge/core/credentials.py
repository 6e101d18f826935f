"""Integration credentials: what a store and a forge look like, and the use cases over them.

A *credential* is a token for one forge account, keyed by (provider, host, name).
Stores keep it encrypted at rest (the built-in one: ``codeforge.integrations.credentials``);
forges (``codeforge.integrations.forges``) answer "who am I" for a token. Both come
from plugins (``codeforge_credential_stores``, ``codeforge_forges``), the built-in
ones registered as default plugins, so this module imports neither. It sits in
``core`` so that the implementations (``integrations``) import the protocols they
implement without importing ``app``, the composition root that wires them in.

The token itself never leaves :func:`resolve_token` in a message: errors name the
provider, host and credential name only.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Final, Protocol
from urllib.parse import urlsplit

from codeforge.errors import CredentialError, NotFoundError, UsageError
from codeforge.settings import Settings

DEFAULT_NAME: Final = "default"
_NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_HOST_RE: Final = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$")
MAX_TOKEN: Final = 4096


@dataclasses.dataclass(frozen=True)
class CredentialInfo:
    """What may be shown about a credential: never the secret."""

    provider: str
    host: str
    name: str
    created_at: datetime
    last_used_at: datetime | None


@dataclasses.dataclass(frozen=True)
class Account:
    """The answer of a forge's "who am I" endpoint for a token."""

    provider: str
    host: str
    login: str
    display_name: str | None
    scopes: tuple[str, ...] | None  # None: the forge does not list them (GitHub fine-grained)
    needed: tuple[str, ...]  # the scopes CodeForge needs from this forge

    @property
    def missing(self) -> tuple[str, ...]:
        """Needed scopes the token lacks (empty when the forge lists none)."""
        if self.scopes is None:
            return ()
        return tuple(scope for scope in self.needed if scope not in self.scopes)


class CredentialStore(Protocol):
    """Encrypted storage for tokens, keyed by (provider, host, name)."""

    def list(self) -> list[CredentialInfo]:
        """Every credential's metadata, sorted by provider, host and name."""

    def get(self, provider: str, host: str, name: str) -> str | None:
        """The token (and its ``last used`` is refreshed), or None when there is none."""

    def put(self, provider: str, host: str, name: str, token: str) -> CredentialInfo:
        """Store or replace a token."""

    def remove(self, provider: str, host: str, name: str) -> bool:
        """Forget a token; False when there was none."""

    def rotate_key(self) -> int:
        """Re-encrypt every token under a new key; returns how many."""


class OpenOnUse:
    """A store opened on its first use: a token from the environment (CI) never pays for
    opening one (a keyring backend is looked up then)."""

    def __init__(self, opener: Callable[[], CredentialStore]) -> None:
        self._opener = opener
        self._store: CredentialStore | None = None

    def _open(self) -> CredentialStore:
        if self._store is None:
            self._store = self._opener()
        return self._store

    def list(self) -> list[CredentialInfo]:
        return self._open().list()

    def get(self, provider: str, host: str, name: str) -> str | None:
        return self._open().get(provider, host, name)

    def put(self, provider: str, host: str, name: str, token: str) -> CredentialInfo:
        return self._open().put(provider, host, name, token)

    def remove(self, provider: str, host: str, name: str) -> bool:
        return self._open().remove(provider, host, name)

    def rotate_key(self) -> int:
        return self._open().rotate_key()


class CredentialStoreFactory(Protocol):
    """What ``codeforge_credential_stores`` returns: a named way to open a store."""

    @property
    def name(self) -> str:
        """How ``CODEFORGE_CREDENTIAL_STORE`` names it."""

    def open(self, settings: Settings, env: Mapping[str, str]) -> CredentialStore:
        """The store for these settings (the CLI's config folder, its key)."""


class Forge(Protocol):
    """What ``codeforge_forges`` returns: a code forge CodeForge can talk to."""

    @property
    def name(self) -> str:
        """The PROVIDER argument: ``github``, ``gitlab``."""

    @property
    def default_host(self) -> str:
        """The host when none is given: ``github.com``."""

    @property
    def token_env(self) -> str:
        """The variable honoured in CI before stored credentials: ``GITHUB_TOKEN``."""

    def whoami(self, host: str, token: str) -> Account:
        """The account the token belongs to and its scopes."""


def check_name(name: str) -> str:
    """A credential name: letters, digits, ``.``, ``_``, ``-`` (at most 64)."""
    if not _NAME_RE.match(name):
        raise UsageError(
            f"invalid credential name {name!r}",
            where="--name",
            hint="use letters, digits, '.', '_' and '-' (at most 64 characters)",
        )
    return name


def normalise_host(host: str) -> str:
    """``github.example.com`` stays; ``https://h/`` becomes ``h``; other schemes are kept.

    Keeping ``http://`` in the key makes a plain-HTTP forge (a test server) explicit.
    """
    text = host.strip().rstrip("/").lower()
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.path:
            raise UsageError(
                f"invalid host {host!r}", where="--host", hint="e.g. gitlab.example.com"
            )
        if "@" in parts.netloc:
            raise UsageError("credentials in the host URL are not accepted", where="--host")
        text = parts.netloc if parts.scheme == "https" else f"http://{parts.netloc}"
        if parts.scheme == "https":
            return _check_bare(text, host)
        return text
    return _check_bare(text, host)


def _check_bare(text: str, original: str) -> str:
    if not _HOST_RE.match(text):
        raise UsageError(
            f"invalid host {original!r}", where="--host", hint="e.g. gitlab.example.com"
        )
    return text


def base_url(host: str) -> str:
    """The origin of a normalised host: ``https://host``, or the kept ``http://`` one."""
    return host if host.startswith("http://") else f"https://{host}"


def check_token(token: str) -> str:
    """A token as typed or piped: surrounding whitespace dropped, one printable line."""
    token = token.strip()
    if not token:
        raise UsageError("the token is empty", where="token")
    if len(token) > MAX_TOKEN or any(ord(c) < 0x21 or ord(c) == 0x7F for c in token):
        raise UsageError(
            f"the token must be one line of at most {MAX_TOKEN} printable characters",
            where="token",
        )
    return token


def forge_named(forges: Iterable[Forge], provider: str) -> Forge:
    """The forge called ``provider``; NotFoundError listing the known ones."""
    known = {forge.name: forge for forge in forges}
    if provider not in known:
        raise NotFoundError(
            f"unknown provider {provider!r}",
            where="PROVIDER",
            hint=f"known providers: {', '.join(sorted(known)) or 'none'}",
        )
    return known[provider]


@dataclasses.dataclass(frozen=True)
class ResolvedToken:
    """A token and where it came from (``env:GITHUB_TOKEN`` or ``stored:NAME``), for messages."""

    token: str = dataclasses.field(repr=False)
    origin: str


def resolve_token(
    store: CredentialStore,
    forge: Forge,
    host: str,
    name: str | None,
    env: Mapping[str, str],
) -> ResolvedToken:
    """The token to use: a named stored one, else ``$TOKEN_ENV`` (CI), else the stored default."""
    if name is None and env.get(forge.token_env, "").strip():
        return ResolvedToken(check_token(env[forge.token_env]), f"env:{forge.token_env}")
    wanted = name or DEFAULT_NAME
    token = store.get(forge.name, host, wanted)
    if token is None:
        raise CredentialError(
            f"no {forge.name} credential {wanted!r} for {host}",
            hint=f"run `codeforge credentials set {forge.name} --host {host}`"
            + ("" if name else f" or set {forge.token_env}"),
        )
    return ResolvedToken(token, f"stored:{wanted}")


def check_credential(
    store: CredentialStore,
    forge: Forge,
    host: str | None,
    name: str | None,
    env: Mapping[str, str],
) -> tuple[Account, ResolvedToken]:
    """Ask the forge who the token belongs to; CredentialError when a needed scope is missing."""
    host = normalise_host(host or forge.default_host)
    resolved = resolve_token(store, forge, host, name, env)
    return check_account(forge, host, resolved.token, resolved.origin), resolved


def check_account(forge: Forge, host: str, token: str, origin: str) -> Account:
    """Who ``token`` belongs to; CredentialError when a needed scope is missing."""
    account = forge.whoami(host, token)
    if account.missing:
        raise CredentialError(
            f"the {forge.name} token for {host} ({origin}) lacks the scope "
            f"{', '.join(account.missing)} that CodeForge needs",
            hint=f"it has: {', '.join(account.scopes or ()) or 'no scopes'}; "
            f"make a token with {', '.join(account.needed)}",
        )
    return account


def sort_infos(infos: Sequence[CredentialInfo]) -> list[CredentialInfo]:
    """Credentials in listing order: provider, host, name."""
    return sorted(infos, key=lambda i: (i.provider, i.host, i.name))
