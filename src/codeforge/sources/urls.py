"""Reading what the user typed as a git source: forms, the scheme allow-list, refs.

Accepted forms (anything else is refused with a message naming the form):

* ``gh:OWNER/REPO`` → ``https://github.com/OWNER/REPO.git``;
  ``gl:GROUP[/SUBGROUP...]/REPO`` → ``https://gitlab.com/GROUP/.../REPO.git``
  (owner and repository names: letters, digits, ``.``, ``_``, ``-``; no
  ``.``/``..`` segment; an optional ``.git`` suffix);
* ``https://HOST[:PORT]/PATH``, ``ssh://[USER@]HOST[:PORT]/PATH`` and the scp
  form ``USER@HOST:PATH`` (read as ``ssh://USER@HOST/PATH`` for trust and the
  cache key; git is given the scp form as typed). A ``git+`` prefix
  (``git+https://...``) is accepted and dropped;
* ``http://`` only to a loopback host (``localhost``, ``127.0.0.0/8``, ``::1``):
  a local test server such as ``git http-backend``; never from the API;
* from the CLI only (``allow_local=True``): ``file:///PATH`` and a local path
  to a git repository (a folder whose top holds ``.git``, or a bare repository).

Always refused: ``ext::``/``fd::`` and any other ``TRANSPORT::ADDRESS`` form,
anything starting with ``-``, whitespace and control characters, backslashes,
query strings and fragments, empty hosts and paths.

Credentials: ``https://USER:TOKEN@host/...`` is accepted (it is how private
repositories are often reached). The token is never stored, shown or put on a
command line: git gets the URL without it and the token as an ``Authorization``
header scoped to that URL, through its environment (:attr:`GitSpec.env`);
:attr:`GitSpec.public` (stored in the answers file and the cache) and
:attr:`GitSpec.display` (every message) leave it out. An ssh login name
(``git@``) is not a secret and is kept; an ssh password is dropped (ssh does not
read it from URLs anyway).

Refs (``--vcs-ref``): a tag, branch or commit id; ``HEAD`` is the remote's
default branch. Refused: a leading ``-``, ``..``, ``@{``, control characters,
spaces, ``~^:?*[\\``, a trailing ``/``, ``.`` or ``.lock``, more than 200 characters.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from codeforge.errors import NotFoundError, SecurityError, UsageError
from codeforge.sources.normal import SHORTCUTS as SHORTCUTS
from codeforge.sources.normal import normalise_source
from codeforge.sources.normal import posix_normpath as posix_normpath

_NAME = r"[A-Za-z0-9_][A-Za-z0-9._-]*"
_GH_RE = re.compile(rf"^(?P<owner>{_NAME})/(?P<repo>{_NAME})$")
_GL_RE = re.compile(rf"^(?P<path>{_NAME}(?:/{_NAME})+)$")
# Loose on purpose: anything shaped USER@HOST:PATH is read as scp form, then checked strictly.
_SCP_RE = re.compile(r"^(?P<user>[^@/:\s]+)@(?P<host>[^@/:\s]+):(?P<path>.+)$")
_USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")
_TRANSPORT_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
_REF_BAD_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_HEX_RE = re.compile(r"^[0-9a-f]{7,64}$")
REMOTE_SCHEMES = ("https", "ssh", "http")
REF_MAX = 200


class GitSpec(NamedTuple):
    """A checked git source."""

    url: str  # what git is given: never holds credentials
    public: str  # what is stored: no credentials, shortcuts kept as typed
    normalised: str  # the trust and cache-key form (see codeforge.sources.trust)
    scheme: str  # https | http | ssh | file
    local: bool  # file:// or a local path
    env: tuple[tuple[str, str], ...] = ()  # extra environment for git (credentials)

    @property
    def display(self) -> str:
        """The form for messages (same as ``public``: credentials never shown)."""
        return self.public

    @property
    def protocols(self) -> tuple[str, ...]:
        return (self.scheme,)


def _control(text: str) -> bool:
    return any(ord(c) < 0x20 or ord(c) == 0x7F or c.isspace() for c in text)


def looks_like_git_url(ref: str) -> bool:
    """True when ``ref`` is written as a git URL or shortcut (not a name or a plain path)."""
    body = ref[4:] if ref.startswith("git+") else ref
    return (
        "://" in body
        or body.startswith(("gh:", "gl:"))
        or _TRANSPORT_RE.match(body) is not None
        or _SCP_RE.match(body) is not None
    )


def is_git_repository(path: Path) -> bool:
    """A working copy (``.git`` at its top) or a bare repository."""
    if (path / ".git").exists():
        return True
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def valid_host(host: str) -> bool:
    """A DNS name or an IP address (IPv6 without its brackets)."""
    if not host or len(host) > 253:
        return False
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return _HOST_RE.match(host) is not None


def _clean_path(path: str, where: str) -> str:
    decoded = unquote(path)
    if not path or path == "/" or _control(decoded) or "\\" in decoded:
        raise SecurityError(f"invalid repository path in {where}")
    segments = [s for s in decoded.split("/") if s]
    if any(s in (".", "..") for s in segments) or any(s.startswith("-") for s in segments):
        raise SecurityError(f"the repository path in {where} has '.', '..' or '-' segments")
    return path


def _strip_git(path: str) -> str:
    path = path.rstrip("/")
    return path[:-4] if path.endswith(".git") else path


def check_ref(ref: str) -> str:
    """Refuse a ``--vcs-ref`` that git could read as an option or a range; return it."""
    problem = None
    if not ref:
        problem = "is empty"
    elif len(ref) > REF_MAX:
        problem = f"is longer than {REF_MAX} characters"
    elif ref.startswith("-"):
        problem = "starts with '-' (it would read as an option)"
    elif ".." in ref or "@{" in ref or ref == "@":
        problem = "contains '..' or '@{'"
    elif _REF_BAD_CHARS.search(ref):
        problem = "contains a space, control character or one of ~^:?*[\\"
    elif ref.endswith(("/", ".", ".lock")) or ref.startswith("/") or "//" in ref:
        problem = "is not a valid branch, tag or commit name"
    elif any(part.startswith(".") for part in ref.split("/")):
        problem = "has a component starting with '.'"
    if problem:
        raise UsageError(f"invalid git ref {ref!r}: it {problem}", where="--vcs-ref")
    return ref


def is_commit_id(ref: str) -> bool:
    return _HEX_RE.match(ref) is not None


def _from_url(raw: str, body: str, *, allow_local: bool) -> GitSpec:
    parts = urlsplit(body)
    scheme = parts.scheme.lower()
    shown = _public_url(body)
    if scheme == "file":
        if not allow_local:
            raise SecurityError(
                "file:// git sources are accepted from the command line only",
                where=shown,
                hint="register the repository from an https URL instead",
            )
        if parts.netloc not in ("", "localhost"):
            raise SecurityError("file:// URLs must not name a host", where=shown)
        return _from_path(Path(unquote(parts.path)), raw, allow_local=True, as_url=True)
    if scheme not in REMOTE_SCHEMES:
        raise SecurityError(
            f"git URLs with scheme {scheme or '(none)'!r} are not accepted",
            where=shown,
            hint="use https://, ssh://, git@host:owner/repo, gh:owner/repo or gl:group/repo",
        )
    if parts.query or parts.fragment or "?" in body or "#" in body:
        raise SecurityError("git URLs with a query or fragment are not accepted", where=shown)
    host = parts.hostname or ""
    if not valid_host(host):
        raise SecurityError("the git URL has no valid host", where=shown)
    try:
        _ = parts.port
    except ValueError as exc:
        raise SecurityError("the git URL has an invalid port", where=shown) from exc
    if scheme == "http":
        from codeforge.core.publishing import is_loopback

    if scheme == "http" and not is_loopback(host):
        raise SecurityError(
            "plain http:// git URLs are accepted only for a server on this machine (loopback)",
            where=shown,
            hint="use https://",
        )
    _clean_path(parts.path, shown)
    return GitSpec(
        url=shown,
        public=shown,
        normalised=normalise_source(body),
        scheme=scheme,
        local=False,
        env=_credential_env(parts.username, parts.password, shown) if scheme != "ssh" else (),
    )


def _credential_env(
    user: str | None, password: str | None, url: str
) -> tuple[tuple[str, str], ...]:
    """Credentials from the URL as an ``Authorization`` header for that URL only, passed
    through git's environment config (``GIT_CONFIG_*``): never on git's command line,
    where any local user could read them, and never sent to another host."""
    if user is None and password is None:
        return ()
    import base64

    pair = f"{unquote(user or '')}:{unquote(password or '')}".encode()
    header = "Authorization: Basic " + base64.b64encode(pair).decode("ascii")
    return (
        ("GIT_CONFIG_COUNT", "1"),
        ("GIT_CONFIG_KEY_0", f"http.{url}.extraHeader"),
        ("GIT_CONFIG_VALUE_0", header),
    )


def _public_url(url: str) -> str:
    """``url`` without credentials (an ssh login name is kept, its password dropped)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    info, _, hostport = parts.netloc.rpartition("@")
    if parts.scheme.lower() == "ssh":
        user = info.partition(":")[0]
        netloc = f"{user}@{hostport}" if user else hostport
    else:
        netloc = hostport
    return parts._replace(netloc=netloc).geturl()


def _from_path(path: Path, raw: str, *, allow_local: bool, as_url: bool = False) -> GitSpec:
    if not allow_local:
        raise SecurityError("local folders are not accepted as blueprint sources here")
    resolved = path.expanduser().resolve()
    if not resolved.is_dir():
        raise NotFoundError(f"git repository {str(path)!r} does not exist")
    if not is_git_repository(resolved):
        raise NotFoundError(f"{str(path)!r} is not a git repository")
    shown = resolved.as_uri() if as_url else str(resolved)
    return GitSpec(
        url=str(resolved), public=shown, normalised=str(resolved), scheme="file", local=True
    )


def parse_git_source(ref: str, *, allow_local: bool) -> GitSpec:
    """Check a git source (URL, shortcut, scp form or local repository path)."""
    if not ref or _control(ref) or ref.startswith("-"):
        raise SecurityError(
            "the git source is empty, starts with '-' or holds spaces or control characters"
        )
    body = ref[4:] if ref.startswith("git+") else ref
    if _TRANSPORT_RE.match(body):
        raise SecurityError(
            f"git transport {body.split('::', 1)[0]!r}:: is not accepted",
            hint="use an https:// or ssh:// URL",
        )
    if "\\" in body:
        raise SecurityError("backslashes are not accepted in git URLs")
    prefix, sep, rest = body.partition(":")
    if sep and prefix in SHORTCUTS:
        match = (_GH_RE if prefix == "gh" else _GL_RE).match(_strip_git(rest))
        if match is None or any(seg in (".", "..") for seg in rest.split("/")):
            raise UsageError(
                f"invalid {prefix}: shortcut {ref!r}",
                hint=f"write {prefix}:OWNER/REPO with letters, digits, '.', '_' and '-'",
            )
        url = f"{SHORTCUTS[prefix]}/{_strip_git(rest)}.git"
        return GitSpec(
            url=url, public=body, normalised=normalise_source(body), scheme="https", local=False
        )
    if "://" in body:
        return _from_url(ref, body, allow_local=allow_local)
    scp = _SCP_RE.match(body)
    if scp is not None:
        host, path = scp.group("host"), scp.group("path")
        if not valid_host(host) or not _USER_RE.match(scp.group("user")):
            raise SecurityError(f"invalid user or host in {body!r}")
        _clean_path(path, body)
        if path.startswith("-"):
            raise SecurityError(f"invalid repository path in {body!r}")
        return GitSpec(
            url=body, public=body, normalised=normalise_source(body), scheme="ssh", local=False
        )
    return _from_path(Path(ref), ref, allow_local=allow_local)
