"""Registering blueprints from the API: a git URL or an uploaded archive, both hostile.

Git (threat model, surface 5): ``https`` only, no credentials in the URL, the host
resolved here and every address checked (no loopback, private, link-local,
multicast or reserved targets), then git pinned to the checked address
(``http.curloptResolve``) so DNS cannot change its answer between check and clone,
and redirects refused (a redirect could lead anywhere). Shallow clone, no
submodules, no hooks, a time cap and a size cap.

Archives (zip or tar, optionally gzip): every member is a regular file or a folder
with a relative path that stays inside the target; links, devices and absolute or
``..`` names are refused; caps on the number of entries, the unpacked bytes and the
unpacked/packed ratio (zip bombs). Extraction goes to a staging folder that is moved
into place only when the blueprint in it loads.

Registered files live in ``cache_dir/registered/<id>`` and are rebuilt from the
stored archive or the pinned commit when missing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
import shutil
import socket
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Final
from urllib.parse import urlsplit

from codeforge.app.config import ApiConfig
from codeforge.app.context import AppContext
from codeforge.core.artifacts import artifact_id_for
from codeforge.errors import (
    BlueprintError,
    CodeForgeError,
    NotFoundError,
    SecurityError,
    ValidationError,
)
from codeforge.sources.addresses import check_public_address, resolve_pin

ARCHIVE_PREFIX: Final = "archive:sha256:"
GIT_PREFIX: Final = "git+"
_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


# -- git --------------------------------------------------------------------------------


def check_git_url(url: str) -> tuple[str, int, str]:
    """Refuse anything but a public ``https`` URL; returns (host, port, checked address)."""
    if url.startswith("-") or any(ord(c) < 0x21 for c in url):
        raise SecurityError("the git URL contains spaces or control characters", where="git_url")
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise SecurityError(
            f"only https:// git URLs are accepted here, not {parts.scheme or 'a local path'!r}",
            where="git_url",
        )
    if parts.username or parts.password or "@" in parts.netloc:
        raise SecurityError(
            "credentials in the git URL are not accepted",
            where="git_url",
            hint="register public repositories only",
        )
    host = parts.hostname
    if not host:
        raise ValidationError("the git URL has no host", where="git_url")
    try:
        port = parts.port or 443
    except ValueError as exc:
        raise ValidationError("the git URL has an invalid port", where="git_url") from exc
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationError(f"cannot resolve {host}", where="git_url") from exc
    addresses = sorted({str(info[4][0]) for info in infos})
    if not addresses:
        raise ValidationError(f"cannot resolve {host}", where="git_url")
    for address in addresses:
        check_public_address(address, host)
    return host, port, addresses[0]


def _clone(ctx: AppContext, url: str, ref: str | None, dest: Path) -> str:
    """Clone ``url`` at ``ref`` (branch, tag or commit) into ``dest``; returns the commit."""
    from codeforge.integrations.git import run_git

    if ref is not None and not _REF_RE.match(ref):
        raise ValidationError(f"invalid git ref {ref!r}", where="ref")
    host, port, address = check_git_url(url)
    config = [
        "-c",
        "http.followRedirects=false",
        *resolve_pin(host, port, address),
        "-c",
        "protocol.allow=never",
        "-c",
        "protocol.https.allow=always",
        "-c",
        "submodule.recurse=false",
    ]
    env = {"GIT_ALLOW_PROTOCOL": "https"}
    timeout = ctx.config.git_timeout
    dest.mkdir(parents=True)
    run_git([*config, "init", "-q"], dest, env=env, timeout=timeout)
    target = ref or "HEAD"
    run_git(
        [
            *config,
            "fetch",
            "-q",
            "--depth",
            "1",
            "--no-tags",
            "--no-recurse-submodules",
            url,
            target,
        ],
        dest,
        env=env,
        timeout=timeout,
    )
    run_git(
        ["-c", "advice.detachedHead=false", "checkout", "-q", "FETCH_HEAD"], dest, timeout=timeout
    )
    commit = run_git(["rev-parse", "HEAD"], dest, timeout=timeout).stdout.strip()
    shutil.rmtree(dest / ".git", ignore_errors=True)
    size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file() and not p.is_symlink())
    if size > ctx.config.git_max_bytes:
        raise SecurityError(
            f"the repository is larger than {ctx.config.git_max_bytes} bytes", where="git_url"
        )
    _refuse_links(dest)
    return commit


def _refuse_links(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_symlink():
            raise SecurityError(
                "blueprints from the API may not contain links",
                where=str(path.relative_to(root)),
            )


def fetch_git(ctx: AppContext, url: str, ref: str | None) -> tuple[Path, str]:
    """Clone and load; returns (folder, source) where source pins the commit."""
    staging = Path(tempfile.mkdtemp(prefix="codeforge-git-"))
    try:
        commit = _clone(ctx, url, ref, staging / "repo")
        source = f"{GIT_PREFIX}{url}@{commit}"
        return _install(ctx, staging / "repo", _folder_id(source)), source
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# -- archives ------------------------------------------------------------------------------


def _safe_member(name: str) -> PurePosixPath | None:
    """The member's relative path, None for the archive's root; SecurityError when unsafe."""
    if "\\" in name or "\0" in name or re.match(r"^[A-Za-z]:", name) or name.startswith("/"):
        raise SecurityError(f"archive member {name!r} has an absolute or unsafe name")
    path = PurePosixPath(name)
    if any(part == ".." for part in path.parts):
        raise SecurityError(f"archive member {name!r} points outside the archive")
    parts = [p for p in path.parts if p not in (".", "")]
    return PurePosixPath(*parts) if parts else None


Member = tuple[PurePosixPath, bytes | None, int]  # path, content (None: a folder), mode


class _Caps:
    """Counts entries and unpacked bytes against the server's archive caps."""

    def __init__(self, config: ApiConfig, packed: int) -> None:
        self.config = config
        self.packed = max(packed, 1)
        self.total = 0

    def account(self, size: int, entries: int) -> None:
        """Add a member of ``size`` bytes, ``entries`` members being kept before it."""
        cfg = self.config
        self.total += size
        if entries > cfg.archive_max_entries:
            raise SecurityError(f"the archive has more than {cfg.archive_max_entries} entries")
        if self.total > cfg.archive_max_bytes:
            raise SecurityError(f"the archive unpacks to more than {cfg.archive_max_bytes} bytes")
        if self.total > self.packed * cfg.archive_max_ratio and self.total > 1024 * 1024:
            raise SecurityError(
                f"the archive expands more than {cfg.archive_max_ratio:g} times (a zip bomb?)"
            )


@dataclasses.dataclass(frozen=True)
class _Entry:
    """One member as the archive describes it, before any check."""

    name: str
    regular: bool  # a file or a folder (not a link or device)
    folder: bool
    size: int
    mode: int
    read: Callable[[], bytes]


def _zip_entries(archive: zipfile.ZipFile) -> Iterator[_Entry]:
    for info in archive.infolist():
        mode = (info.external_attr >> 16) & 0o177777
        regular = not stat.S_IFMT(mode) or stat.S_ISREG(mode) or stat.S_ISDIR(mode)

        def read(info: zipfile.ZipInfo = info) -> bytes:
            with archive.open(info) as stream:
                content = stream.read(info.file_size + 1)
            if len(content) != info.file_size:
                raise SecurityError(f"archive member {info.filename!r} lies about its size")
            return content

        yield _Entry(info.filename, regular, info.is_dir(), info.file_size, mode, read)


def _tar_entries(archive: tarfile.TarFile) -> Iterator[_Entry]:
    for info in archive:

        def read(info: tarfile.TarInfo = info) -> bytes:
            extracted = archive.extractfile(info)
            return extracted.read() if extracted is not None else b""

        regular = info.isfile() or info.isdir()
        yield _Entry(info.name, regular, info.isdir(), info.size, info.mode, read)


def _members(entries: Iterator[_Entry], caps: _Caps) -> list[Member]:
    """The checked members (the archive's root left out), read under the caps."""
    members: list[Member] = []
    for entry in entries:
        path = _safe_member(entry.name)
        if not entry.regular:
            raise SecurityError(f"archive member {entry.name!r} is a link or device")
        caps.account(entry.size, len(members))
        if path is None:
            continue
        if entry.folder:
            members.append((path, None, 0o755))
            continue
        members.append((path, entry.read(), 0o755 if entry.mode & 0o111 else 0o644))
    return members


def _read_members(data: bytes, caps: _Caps) -> list[Member]:
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _members(_zip_entries(archive), caps)
    try:
        tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")  # noqa: SIM115 - closed below
    except tarfile.TarError as exc:
        raise ValidationError("the upload is not a zip or tar archive", where="archive") from exc
    with tar:
        return _members(_tar_entries(tar), caps)


def _write_members(members: list[Member], dest: Path) -> None:
    # A single top folder (as GitHub archives have) is the blueprint itself.
    tops = {m[0].parts[0] for m in members}
    strip = len(tops) == 1 and any(len(m[0].parts) > 1 for m in members)
    dest.mkdir(parents=True)
    root = dest.resolve()
    for path, body, mode in members:
        rel = PurePosixPath(*path.parts[1:]) if strip else path
        if not rel.parts:
            continue
        target = (root / rel).resolve()
        if root not in target.parents:
            raise SecurityError(f"archive member {str(path)!r} points outside the archive")
        if body is None:
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(body)


def extract_archive(ctx: AppContext, data: bytes, dest: Path) -> None:
    """Extract ``data`` (zip or tar[.gz]) into the new folder ``dest`` under the caps."""
    _write_members(_read_members(data, _Caps(ctx.config, len(data))), dest)


def archive_store(ctx: AppContext) -> Path:
    """Where earlier versions kept uploaded archives on disk (still read as a fallback)."""
    return ctx.settings.data_dir / "blueprint-archives"


def archive_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_archive(ctx: AppContext, data: bytes) -> tuple[Path, str]:
    """Extract and load the archive; returns (folder, source).

    The bytes themselves are kept (``keep_archive``: in the artifact store when one is
    configured, else the database's ``blueprint_archives``, by SHA-256) when the
    blueprint is registered, so every server can rebuild the folder.
    """
    source = ARCHIVE_PREFIX + archive_digest(data)
    folder = _folder_id(source)
    staging = Path(tempfile.mkdtemp(prefix="codeforge-archive-"))
    try:
        extract_archive(ctx, data, staging / "bp")
        installed = _install(ctx, staging / "bp", folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return installed, source


def _archive_id(digest: str) -> str:
    return artifact_id_for(f"sha256-{digest}", "bin")


def keep_archive(ctx: AppContext, data: bytes) -> bool:
    """Put the archive in the artifact store (S3) when one is configured; False: the
    database keeps it (the embedded default). A store outage is a StoreError (503)."""
    store = ctx.artifacts.archives
    if store is None:
        return False
    store.put(f"sha256-{archive_digest(data)}", data, "bin")
    return True


def _archive_from_store(ctx: AppContext, digest: str) -> bytes | None:
    store = ctx.artifacts.archives
    if store is None or not _SHA256_RE.match(digest):
        return None
    try:
        with store.open(_archive_id(digest)) as stream:
            return stream.read()
    except NotFoundError:
        return None  # registered before the store was configured: in the database


def stored_archive(ctx: AppContext, digest: str) -> bytes | None:
    """The archive with this SHA-256 from the artifact store, the database, or an older
    server's disk store."""
    from codeforge.db.repositories import get_archive

    data = _archive_from_store(ctx, digest)
    if data is None:
        with ctx.read() as session:
            data = get_archive(session, digest)
    if data is None:
        kept = archive_store(ctx) / f"{digest}.bin"
        if _SHA256_RE.match(digest) and kept.is_file():
            data = kept.read_bytes()
    if data is not None and archive_digest(data) != digest:
        raise NotFoundError(f"the stored archive {digest} does not match its hash")
    return data


# -- shared ---------------------------------------------------------------------------------


def _folder_id(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:32]


def _install(ctx: AppContext, staged: Path, folder_id: str) -> Path:
    """Check that ``staged`` holds a loadable blueprint, then move it into the cache."""
    _refuse_links(staged)
    try:
        ctx.parse(staged)
    except CodeForgeError as exc:
        # Name the file inside the upload, never the server's staging folder.
        def local(text: str | None) -> str | None:
            return text.replace(str(staged), "<blueprint>") if text else text

        raise BlueprintError(
            local(exc.message) or "invalid blueprint",
            where=local(exc.where),
            hint="a blueprint is a folder with blueprint.yaml (or .toml) and a template/ folder",
        ) from None
    final = ctx.config.blueprint_dir / folder_id
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(staged, final)
    except OSError:
        if not final.is_dir():  # another request installed it first otherwise
            raise
    return final


def materialise(ctx: AppContext, source: str) -> Path:
    """The folder of a registered ``source``, fetched again when this server lacks it."""
    folder = ctx.config.blueprint_dir / _folder_id(source)
    if folder.is_dir():
        return folder
    if source.startswith(ARCHIVE_PREFIX):
        data = stored_archive(ctx, source[len(ARCHIVE_PREFIX) :])
        if data is None:
            raise NotFoundError(f"the archive of {source} is no longer stored")
        path, _ = fetch_archive(ctx, data)
        return path
    if source.startswith(GIT_PREFIX):
        url, _, commit = source[len(GIT_PREFIX) :].rpartition("@")
        if not _COMMIT_RE.match(commit):
            raise NotFoundError(f"cannot fetch {source}")
        path, _ = fetch_git(ctx, url, commit)
        return path
    raise NotFoundError(f"cannot fetch {source}")
