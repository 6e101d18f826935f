"""Git blueprint sources: a cache of bare clones and of immutable trees, one per commit.

Layout, under ``settings.cache_dir / "git" / KEY`` where KEY is the SHA-256 of the
source's normal form (:mod:`codeforge.sources.trust`), so one repository spelt
three ways shares one clone and a token in the URL never names a folder:

* ``repo.git``: a bare repository holding the remote's branches
  (``refs/heads/*``), tags (``refs/tags/*``) and default branch
  (``refs/codeforge/HEAD``). The URL is never stored in it (it is passed to each
  ``git fetch``), so credentials never reach the disk;
* ``trees/COMMIT``: the files of one commit, written once and never changed
  (built in ``trees/.tmp-*`` and renamed into place when complete);
* ``meta.json``: the public URL, the default branch and the time of the last fetch;
* ``lock``: an exclusive ``flock`` held while the clone or a tree is changed, so
  concurrent processes neither fetch twice nor see half a tree.

When the network is used: the first time a source is seen (clone), with
``refresh=True`` (``--refresh``), and when the asked ref is not in the clone.
Otherwise everything comes from the cache: branches are as of the last fetch
(``--refresh`` moves them). Local repositories (a path or ``file://``) are
fetched on every use: it costs no network and their HEAD moves as the author commits.

Which commit: ``--vcs-ref`` (a tag, then a branch, then a commit id, then
``HEAD``), else the highest release tag (:mod:`codeforge.sources.versions`),
else the remote's default branch. The ``ref`` and full ``commit`` are returned so
the engine records them in ``.codeforge-answers.yml`` and ``codeforge update``
can render exactly that version again (``vcs_ref=COMMIT``).

A local working copy with uncommitted changes (modified or untracked files):
with ``--vcs-ref HEAD`` the folder is used as it is on disk (the author sees
their edits, as copier does), with a warning, and no ref or commit is recorded
because that content cannot be found again. With any other ref, or the default
version, the committed content is used and a warning says the changes are left out.

Trees are extracted from git objects (``ls-tree`` + ``cat-file``,
:mod:`codeforge.sources.gittree`), never by a checkout, so no filter, hook or attribute of the template repository runs.
Submodules (gitlinks) are never fetched: their folders stay empty and a warning
names them. A link whose target leaves the tree, a ``.git`` entry, or a ``..``
path refuses the whole source. Caps: ``git.max_bytes`` (the clone's size on
disk, checked while git runs, and the bytes of one tree), ``git.max_files``
(entries of one tree) and ``git.timeout`` (seconds per git call); from the
config file's ``[git]`` table or ``CODEFORGE_GIT_MAX_BYTES`` /
``CODEFORGE_GIT_MAX_FILES`` / ``CODEFORGE_GIT_TIMEOUT``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codeforge.errors import (
    CodeForgeError,
    NotFoundError,
    ResourceLimitError,
)
from codeforge.integrations import git
from codeforge.settings import Settings
from codeforge.sources.gittree import GitOptions, extract_tree, git_options, submodule_warnings
from codeforge.sources.urls import GitSpec, check_ref, is_commit_id, parse_git_source
from codeforge.sources.versions import pick_default, sort_versions

LOCK_TIMEOUT = 600.0
_HEAD_REF = "refs/codeforge/HEAD"


@dataclasses.dataclass(frozen=True)
class Checkout:
    """A git source made into a folder."""

    path: Path
    ref: str | None  # None when the content cannot be found again (uncommitted changes)
    commit: str | None
    warnings: tuple[str, ...] = ()


class GitCache:
    """The cache entry of one git source (see the module docstring)."""

    def __init__(self, spec: GitSpec, cache_dir: Path, options: GitOptions) -> None:
        self.spec = spec
        self.options = options
        key = hashlib.sha256(spec.normalised.encode("utf-8")).hexdigest()[:32]
        self.root = cache_dir / "git" / key
        self.repo = self.root / "repo.git"
        self.trees = self.root / "trees"

    # -- locking -------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive, across processes, for the whole entry; waits up to LOCK_TIMEOUT."""
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() > deadline:
                        raise git.GitError(
                            f"another CodeForge process holds the cache of {self.spec.display}",
                            where=str(self.root),
                        ) from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    # -- fetching --------------------------------------------------------------------------

    def exists(self) -> bool:
        return (self.repo / "HEAD").is_file()

    def _meta(self) -> dict[str, Any]:
        try:
            data = json.loads((self.root / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def fetch(self) -> None:
        """Create the clone or bring it up to date with the remote (under the lock)."""
        first = not self.exists()
        target = self.root / f"repo.git.tmp-{os.getpid()}" if first else self.repo
        if first:
            for stale in self.root.glob("repo.git.tmp-*"):
                shutil.rmtree(stale, ignore_errors=True)
            git.init_bare(target)
        opts, spec = self.options, self.spec
        try:
            branch, head_commit = git.remote_head(
                target, spec.url, protocols=spec.protocols, timeout=opts.timeout, env=dict(spec.env)
            )
            refspecs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
            if head_commit is not None:
                refspecs.append(f"+HEAD:{_HEAD_REF}")
            git.fetch(
                target,
                spec.url,
                refspecs,
                protocols=spec.protocols,
                timeout=opts.timeout,
                max_bytes=opts.max_bytes,
                env=dict(spec.env),
            )
            size = git.folder_size(target)
            if size > opts.max_bytes:  # git finished between two looks of the size watch
                raise ResourceLimitError(
                    f"the repository takes {size} bytes, over the {opts.max_bytes} byte cap",
                    hint="raise git.max_bytes in the config if you trust this repository",
                )
        except CodeForgeError as exc:
            if first or isinstance(exc, ResourceLimitError):
                shutil.rmtree(target, ignore_errors=True)  # never keep an oversized clone
            else:
                for tmp in (self.repo / "objects" / "pack").glob("tmp_*"):
                    tmp.unlink(missing_ok=True)
            exc.where = exc.where or spec.display
            raise
        if first:
            os.rename(target, self.repo)
        meta = {"source": spec.public, "head": branch, "fetched": time.time()}
        tmp_meta = self.root / f"meta.json.tmp-{os.getpid()}"
        tmp_meta.write_text(json.dumps(meta), encoding="utf-8")
        os.replace(tmp_meta, self.root / "meta.json")

    def fetch_commit(self, commit: str) -> None:
        """Ask the remote for one commit no branch or tag holds (servers may refuse)."""
        try:
            git.fetch(
                self.repo,
                self.spec.url,
                [f"+{commit}:refs/codeforge/commits/{commit}"],
                protocols=self.spec.protocols,
                timeout=self.options.timeout,
                max_bytes=self.options.max_bytes,
                env=dict(self.spec.env),
            )
        except git.GitError:
            pass  # reported as "not found" by the caller

    # -- refs --------------------------------------------------------------------------------

    def tags(self) -> dict[str, str]:
        return git.list_refs(self.repo, "refs/tags/")

    def default(self) -> tuple[str, str]:
        """(ref, commit): the highest release tag, else the default branch."""
        tags = self.tags()
        tag = pick_default(tags)
        if tag is not None:
            return tag, tags[tag]
        commit = git.rev_parse(self.repo, f"{_HEAD_REF}^{{commit}}")
        if commit is None:
            raise NotFoundError(
                f"{self.spec.display} has no version tag and no default branch",
                hint="pass --vcs-ref BRANCH",
            )
        head = self._meta().get("head")
        name = (
            head[len("refs/heads/") :]
            if isinstance(head, str) and head.startswith("refs/heads/")
            else "HEAD"
        )
        return name, commit

    def resolve(self, ref: str) -> str | None:
        """The commit ``ref`` names: a tag, a branch, ``HEAD`` or a commit id."""
        if ref == "HEAD":
            return git.rev_parse(self.repo, f"{_HEAD_REF}^{{commit}}")
        for full in (f"refs/tags/{ref}", f"refs/heads/{ref}"):
            found = git.rev_parse(self.repo, f"{full}^{{commit}}")
            if found is not None:
                return found
        if is_commit_id(ref):
            found = git.rev_parse(self.repo, f"{ref}^{{commit}}")
            if found is not None and found.startswith(ref):
                return found
        return None

    # -- trees --------------------------------------------------------------------------------

    def tree(self, commit: str) -> tuple[Path, list[str]]:
        """The folder holding ``commit``'s files (built once) and warnings about it."""
        final = self.trees / commit
        skipped_file = self.trees / f"{commit}.skipped"
        if final.is_dir():
            notes = (
                skipped_file.read_text(encoding="utf-8").splitlines()
                if skipped_file.is_file()
                else []
            )
            return final, submodule_warnings(notes)
        self.trees.mkdir(parents=True, exist_ok=True)
        for stale in self.trees.glob(".tmp-*"):  # trees are built under the lock: these are dead
            shutil.rmtree(stale, ignore_errors=True)
        staging = self.trees / f".tmp-{os.getpid()}-{commit[:12]}"
        try:
            skipped = extract_tree(self.repo, commit, staging, self.options, self.spec.display)
            if skipped:
                skipped_file.write_text("\n".join(skipped) + "\n", encoding="utf-8")
            os.rename(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return final, submodule_warnings(skipped)


# -- the entry points ------------------------------------------------------------------------


def _working_copy(spec: GitSpec) -> Path | None:
    if not spec.local:
        return None
    path = Path(spec.url)
    return path if (path / ".git").exists() else None


def checkout(
    spec: GitSpec, settings: Settings, *, vcs_ref: str | None = None, refresh: bool = False
) -> Checkout:
    """Make ``spec`` at ``vcs_ref`` (or the default version) into a folder (see the module)."""
    if vcs_ref is not None:
        check_ref(vcs_ref)
    options = git_options(settings)
    cache = GitCache(spec, settings.cache_dir, options)
    warnings: list[str] = []
    with cache.lock():
        fetched = False
        if refresh or spec.local or not cache.exists():
            cache.fetch()
            fetched = True
        if vcs_ref is None:
            ref, commit = cache.default()
        else:
            ref = vcs_ref
            found = cache.resolve(vcs_ref)
            if found is None and not fetched:
                cache.fetch()
                found = cache.resolve(vcs_ref)
            if found is None and is_commit_id(vcs_ref) and len(vcs_ref) in (40, 64):
                cache.fetch_commit(vcs_ref)
                found = cache.resolve(vcs_ref)
            if found is None:
                versions = sort_versions(cache.tags())[-5:]
                raise NotFoundError(
                    f"{spec.display} has no tag, branch or commit {vcs_ref!r}",
                    where="--vcs-ref",
                    hint=f"recent versions: {', '.join(reversed(versions))}" if versions else None,
                )
            commit = found
        worktree = _working_copy(spec)
        head = cache.resolve("HEAD") if worktree is not None else None
        if (
            worktree is not None
            and head is not None
            and git.worktree_differs(cache.repo, worktree, head, timeout=options.timeout)
        ):
            if vcs_ref == "HEAD":
                warnings.append(
                    f"{worktree} has uncommitted changes: they are used, and no commit is "
                    "recorded (commit them to make the project reproducible)"
                )
                return Checkout(worktree, None, None, tuple(warnings))
            warnings.append(
                f"{worktree} has uncommitted changes; they are not part of {ref} "
                "(pass --vcs-ref HEAD to use them)"
            )
        path, notes = cache.tree(commit)
    return Checkout(path, ref, commit, (*warnings, *notes))


def available_versions(
    source_ref: str, settings: Settings, *, refresh: bool = False
) -> list[tuple[str, str]]:
    """``[(tag, commit), ...]``, every semver tag of a git source, lowest version first.

    ``source_ref`` is what the answers file records (``blueprint.source``). The
    cached clone is used (created when missing); ``refresh=True`` fetches first
    so tags pushed since the last fetch appear (``codeforge check`` wants that).
    A source that is not git (built-in, plugin, plain folder) has no versions: ``[]``.
    """
    spec = _git_spec_or_none(source_ref)
    if spec is None:
        return []
    cache = GitCache(spec, settings.cache_dir, git_options(settings))
    with cache.lock():
        if refresh or spec.local or not cache.exists():
            cache.fetch()
        tags = cache.tags()
    return [(tag, tags[tag]) for tag in sort_versions(tags)]


def latest_version(
    source_ref: str, settings: Settings, *, refresh: bool = False
) -> tuple[str, str] | None:
    """The version ``init`` picks by default: (tag, commit) of the highest release tag
    (the highest prerelease when there is no release), or None when there is no
    semver tag (then the default branch is used) or the source is not git."""
    versions = available_versions(source_ref, settings, refresh=refresh)
    tag = pick_default(t for t, _ in versions)
    return next(((t, c) for t, c in versions if t == tag), None)


def _git_spec_or_none(source_ref: str) -> GitSpec | None:
    from codeforge.sources.urls import is_git_repository, looks_like_git_url

    if looks_like_git_url(source_ref):
        return parse_git_source(source_ref, allow_local=True)
    path = Path(source_ref).expanduser()
    if path.is_absolute() and path.is_dir() and is_git_repository(path):
        return parse_git_source(source_ref, allow_local=True)
    return None
