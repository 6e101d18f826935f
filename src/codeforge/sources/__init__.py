"""Where blueprints come from: built-ins, local folders, git repositories and plugins.

:func:`resolve_source` reads what the user typed after ``-t``, in this order:

1. ``builtin:NAME`` or a built-in name;
2. ``plugin:NAME``: a blueprint installed by a package (:mod:`.plugins`);
3. a git URL or shortcut (``https://``, ``ssh://``, ``git@host:path``, ``gh:``,
   ``gl:``, ``file://``, :mod:`.urls`), fetched through the cache (:mod:`.gitcache`);
4. something written as a path (``./x``, ``/x``, ``~/x``, ``a/b``): a local
   folder; when its top holds ``.git`` (or it is a bare repository) it is read
   as a git source (default: the highest release tag; ``--vcs-ref`` picks
   another version; see :mod:`.gitcache` for uncommitted changes), otherwise
   it is used as it is on disk, exactly as before;
5. a bare name: a plugin blueprint of that name, else a folder of that name in
   the current folder (as in 4).

``allow_local=False`` (the API) refuses local folders, local repositories and
``file://``. Network git sources are fetched only when ``allow_remote`` is true
(default: the value of ``allow_local``), because fetching a URL an API caller
chose would let them reach hosts the server can see (SSRF): the API registers
git blueprints through :mod:`codeforge.app.registry`, which checks addresses.

Every result says whether the source is trusted (``--trust``, or a prefix in
``trusted_sources`` compared after normalising: :mod:`.trust`), and for git the
``ref`` asked or chosen and the full ``commit``, which the engine writes to
``.codeforge-answers.yml``. For ``codeforge update``: :func:`available_versions`
lists a source's versions, :func:`latest_version` gives the one ``init`` picks.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from codeforge.core.source import ResolvedSource
from codeforge.errors import CodeForgeError, NotFoundError, SecurityError, UsageError
from codeforge.sources.normal import BUILTIN_PREFIX, PLUGIN_PREFIX, normalise_source
from codeforge.sources.trust import is_trusted
from codeforge.sources.urls import is_git_repository, looks_like_git_url

if TYPE_CHECKING:
    from codeforge.settings import Settings

__all__ = [
    "BUILTIN_PREFIX",
    "PLUGIN_PREFIX",
    "ResolvedSource",
    "available_versions",
    "builtin_names",
    "builtin_root",
    "is_trusted",
    "latest_version",
    "normalise_source",
    "resolve_source",
    "source_label",
]


def builtin_root() -> Path:
    return Path(__file__).resolve().parent.parent / "templates" / "builtin"


def builtin_names() -> list[str]:
    root = builtin_root()
    if not root.is_dir():
        return []
    return sorted(
        entry.name
        for entry in os.scandir(root)
        if entry.is_dir() and not entry.name.startswith((".", "_"))
    )


def _looks_like_path(ref: str) -> bool:
    return ref.startswith((".", "/", "~")) or os.sep in ref or "/" in ref


def _no_ref(vcs_ref: str | None, what: str) -> None:
    if vcs_ref is not None:
        raise UsageError(
            f"--vcs-ref applies to git sources only; {what} is not one", where="--vcs-ref"
        )


def _settings(settings: Settings | None) -> Settings:
    if settings is not None:
        return settings
    from codeforge.settings import load_settings

    return load_settings()


def resolve_source(
    ref: str,
    *,
    allow_local: bool,
    trust: bool,
    trusted_prefixes: Sequence[str] = (),
    vcs_ref: str | None = None,
    refresh: bool = False,
    settings: Settings | None = None,
    allow_remote: bool | None = None,
) -> ResolvedSource:
    """Turn what the user typed after ``-t`` into a folder and a trust decision (see the module)."""
    if not ref or ref.strip() != ref:
        raise NotFoundError(f"invalid blueprint reference {ref!r}")
    if allow_remote is None:
        allow_remote = allow_local
    name = ref[len(BUILTIN_PREFIX) :] if ref.startswith(BUILTIN_PREFIX) else ref
    if name in builtin_names():
        _no_ref(vcs_ref, f"the built-in blueprint {name!r}")
        return ResolvedSource(builtin_root() / name, BUILTIN_PREFIX + name, True, "builtin")
    if ref.startswith(BUILTIN_PREFIX):
        raise NotFoundError(
            f"no built-in blueprint named {name!r}",
            hint=f"built-ins: {', '.join(builtin_names())}",
        )
    if ref.startswith(PLUGIN_PREFIX):
        return _plugin(ref[len(PLUGIN_PREFIX) :], trust, trusted_prefixes, vcs_ref)
    if looks_like_git_url(ref):
        return _git(
            ref, allow_local, allow_remote, trust, trusted_prefixes, vcs_ref, refresh, settings
        )
    if not _looks_like_path(ref):
        from codeforge.sources.plugins import has_plugin

        if has_plugin(ref):
            return _plugin(ref, trust, trusted_prefixes, vcs_ref)
    if _looks_like_path(ref) or Path(ref).is_dir():
        if not allow_local:
            raise SecurityError("local folders are not accepted as blueprint sources here")
        git = (allow_remote, trust, trusted_prefixes, vcs_ref, refresh, settings)
        return _folder(ref, trust, trusted_prefixes, vcs_ref, git)
    raise NotFoundError(
        f"no blueprint named {ref!r}",
        hint=f"built-ins: {', '.join(builtin_names())}; or give a folder path like "
        "./my-blueprint, a git URL, gh:owner/repo or plugin:NAME",
    )


def _folder(
    ref: str,
    trust: bool,
    trusted_prefixes: Sequence[str],
    vcs_ref: str | None,
    git: tuple[bool, bool, Sequence[str], str | None, bool, Settings | None],
) -> ResolvedSource:
    """A local folder: read as a git source when its top holds ``.git``."""
    path = Path(ref).expanduser().resolve()
    if not path.is_dir():
        raise NotFoundError(f"blueprint folder {ref!r} does not exist")
    if is_git_repository(path):
        return _git(str(path), True, *git)
    _no_ref(vcs_ref, f"the folder {str(path)!r} (no .git at its top)")
    source = str(path)
    return ResolvedSource(path, source, trust or is_trusted(source, trusted_prefixes), "local")


def _plugin(
    name: str, trust: bool, trusted_prefixes: Sequence[str], vcs_ref: str | None
) -> ResolvedSource:
    from codeforge.sources.plugins import plugin_folder

    _no_ref(vcs_ref, f"the plugin blueprint {name!r}")
    folder, _entry = plugin_folder(name)
    source = PLUGIN_PREFIX + name
    return ResolvedSource(folder, source, trust or is_trusted(source, trusted_prefixes), "plugin")


def _git(
    ref: str,
    allow_local: bool,
    allow_remote: bool,
    trust: bool,
    trusted_prefixes: Sequence[str],
    vcs_ref: str | None,
    refresh: bool,
    settings: Settings | None,
) -> ResolvedSource:
    from codeforge.sources.gitcache import checkout
    from codeforge.sources.urls import parse_git_source

    spec = parse_git_source(ref, allow_local=allow_local)
    if not spec.local and not allow_remote:
        raise SecurityError(
            f"git sources are not fetched here: {spec.display}",
            hint="register the repository first (POST /api/v1/blueprints with git_url)",
        )
    done = checkout(spec, _settings(settings), vcs_ref=vcs_ref, refresh=refresh)
    trusted = trust or is_trusted(spec.public, trusted_prefixes)
    return ResolvedSource(
        done.path, spec.public, trusted, "git", done.ref, done.commit, done.warnings
    )


def source_label(root: Path) -> str:
    """How to ask for the blueprint in folder ``root`` with ``-t`` (built-ins and plugins)."""
    root = root.resolve()
    if root.parent == builtin_root():
        return root.name
    from codeforge.sources.plugins import plugin_entries, plugin_folder

    for entry in plugin_entries():
        with contextlib.suppress(CodeForgeError):  # a broken plugin is reported where loaded
            if plugin_folder(entry.name)[0] == root:
                return PLUGIN_PREFIX + entry.name
    return str(root)


def available_versions(
    source_ref: str, settings: Settings, *, refresh: bool = False
) -> list[tuple[str, str]]:
    """Every semver tag of a git source with its commit, lowest first (see :mod:`.gitcache`)."""
    from codeforge.sources.gitcache import available_versions as versions

    return versions(source_ref, settings, refresh=refresh)


def latest_version(
    source_ref: str, settings: Settings, *, refresh: bool = False
) -> tuple[str, str] | None:
    """(tag, commit) ``init`` would pick by default, or None (see :mod:`.gitcache`)."""
    from codeforge.sources.gitcache import latest_version as latest

    return latest(source_ref, settings, refresh=refresh)
