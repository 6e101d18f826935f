"""The one hardened wrapper through which CodeForge runs ``git`` (threat model, surface 5).

Every call:

* takes an argument list (never a shell); user-supplied operands (URLs, refs,
  paths) come after ``--`` (or ``--end-of-options``) so they can never be read
  as options, and callers refuse operands starting with ``-`` anyway;
* runs with hooks off (``core.hooksPath=/dev/null``; repositories are created
  with ``--template=`` so no hook is copied from a template folder), no
  fsmonitor command, submodules never recursed into (``submodule.recurse=false``,
  ``fetch.recurseSubmodules=false``), objects checked on the way in
  (``transfer.fsckObjects``), and no automatic ``gc``;
* allows only the transports the caller names (``GIT_ALLOW_PROTOCOL``, which
  overrides every ``protocol.*.allow`` setting, ``protocol.file.allow``
  included); the default is ``https:ssh:file``, and ``ext::``/``fd::`` are
  refused in every case;
* disables prompts (``GIT_TERMINAL_PROMPT=0``, empty askpass) and the system
  config, and passes a minimal environment;
* has a time cap (``timeout``), and optionally a size cap: ``max_bytes`` with a
  ``watch`` folder kills git as soon as that folder grows past the cap (a
  fetch cannot fill the disk before the check);
* redacts credentials (``user:token@`` in any URL) from every message it raises.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

# The errors live in the kernel (codeforge.errors): callers catch them without importing this module.
from codeforge.errors import GitError as GitError
from codeforge.errors import GitMissing as GitMissing
from codeforge.errors import ResourceLimitError
from codeforge.redaction import redact

if TYPE_CHECKING:
    import subprocess

GIT_TIMEOUT = 120.0
DEFAULT_PROTOCOLS = ("https", "ssh", "file")
_KNOWN_PROTOCOLS = frozenset({"https", "http", "ssh", "file", "git"})
_POLL_SECONDS = 0.1


def git_available() -> bool:
    return shutil.which("git") is not None


def _env(extra: Mapping[str, str] | None, protocols: Sequence[str]) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "SYSTEMROOT", "XDG_CONFIG_HOME")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "",
            "SSH_ASKPASS": "",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_PROTOCOL_FROM_USER": "0",
            "GIT_ALLOW_PROTOCOL": ":".join(protocols),
            "GIT_NO_REPLACE_OBJECTS": "1",
        }
    )
    if extra:
        env.update(extra)
    return env


def folder_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (links not followed)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue  # git renames its temporary files while we look
    return total


def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


# Set on every call, so no config of the user's or of a repository can turn them on.
_HARDENING: tuple[str, ...] = (
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "protocol.ext.allow=never",
    "-c",
    "protocol.fd.allow=never",
    "-c",
    "submodule.recurse=false",
    "-c",
    "fetch.recurseSubmodules=false",
)


def run_git(
    args: Sequence[str],
    cwd: Path,
    *,
    operands: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = GIT_TIMEOUT,
    check: bool = True,
    protocols: Sequence[str] = DEFAULT_PROTOCOLS,
    max_bytes: int | None = None,
    watch: Path | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``git ARGS -- OPERANDS`` in ``cwd`` hardened as the module says; GitError on failure.

    ``protocols`` are the transports git may use (``ext`` and ``fd`` are never
    allowed). With ``max_bytes`` and ``watch``, git is stopped as soon as the
    ``watch`` folder holds more than ``max_bytes`` (ResourceLimitError).
    """
    exe = shutil.which("git")
    if exe is None:
        raise GitMissing("git is not installed", hint="install git or pass --no-git")
    bad = [p for p in protocols if p not in _KNOWN_PROTOCOLS]
    if bad:
        raise GitError(f"git transport {bad[0]!r} is not allowed")
    command = [exe, *_HARDENING, *args]
    if operands:
        command += ["--", *operands]
    name = next((a for a in args if not a.startswith("-") and "=" not in a), args[0])
    import subprocess  # here, not at the top: `init --no-git` never starts a process

    try:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=_env(env, protocols),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            text=True,
            start_new_session=True,  # so a kill reaches git's helpers (remote-https, ssh) too
        )
    except OSError as exc:
        raise GitError(f"cannot run git: {exc.strerror or exc}") from exc
    with proc:
        out, err = _communicate(proc, name, stdin, timeout, max_bytes, watch)
    completed = subprocess.CompletedProcess(command, proc.returncode, out, err)
    if check and proc.returncode != 0:
        detail = redact(_last_line(err or out))
        raise GitError(f"git {name} failed: {detail}")
    return completed


def _communicate(
    proc: subprocess.Popen[str],
    name: str,
    stdin: str | None,
    timeout: float,
    max_bytes: int | None,
    watch: Path | None,
) -> tuple[str, str]:
    """Wait for git's output; kill it past ``timeout`` or once ``watch`` outgrows ``max_bytes``."""
    import subprocess

    started = time.monotonic()
    pending_input = stdin
    while True:
        wait = _POLL_SECONDS if max_bytes is not None else timeout
        remaining = timeout - (time.monotonic() - started)
        try:
            return proc.communicate(pending_input, timeout=max(min(wait, remaining), 0.01))
        except subprocess.TimeoutExpired:
            pending_input = None  # communicate() already sent it
            if time.monotonic() - started >= timeout:
                _kill(proc)
                raise GitError(
                    f"git {name} took longer than {timeout:g} s",
                    hint="raise git.timeout in the config if the repository is just slow",
                ) from None
            if max_bytes is not None and watch is not None and folder_size(watch) > max_bytes:
                _kill(proc)
                raise ResourceLimitError(
                    f"the repository is larger than the {max_bytes} byte cap; git {name} was stopped",
                    hint="raise git.max_bytes in the config if you trust this repository",
                ) from None


def _kill(proc: subprocess.Popen[str]) -> None:
    """Stop git and every helper it started (its own process group)."""
    import signal
    import subprocess

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:  # a helper that left the group still holds the pipe
        pass


def config_value(key: str, cwd: Path) -> str | None:
    proc = run_git(["config", "--get", key], cwd, check=False)
    value = proc.stdout.strip()
    return value or None


def init_and_commit(
    path: Path,
    message: str,
    *,
    author_name: str | None,
    author_email: str | None,
    date: str | None = None,
) -> str:
    """``git init`` (no template hooks) + add everything + first commit; returns the commit id.

    With ``date`` (ISO 8601) the commit is dated then: the same tree, identity and
    date give the same commit id (a retried publish job pushes the same commit).
    """
    run_git(["init", "--quiet", "--template=", "--initial-branch=main"], path)
    run_git(["add", "--all"], path)
    name = author_name or config_value("user.name", path) or "CodeForge"
    email = author_email or config_value("user.email", path) or "codeforge@localhost"
    identity = {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }
    if date is not None:
        identity["GIT_AUTHOR_DATE"] = identity["GIT_COMMITTER_DATE"] = date
    run_git(
        ["commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message], path, env=identity
    )
    return run_git(["rev-parse", "HEAD"], path).stdout.strip()


# -- fetching into a bare cache repository ---------------------------------------------------


def init_bare(path: Path) -> None:
    """A new bare repository at ``path`` with no hooks and no automatic gc."""
    path.mkdir(parents=True, exist_ok=True)
    run_git(["init", "--quiet", "--bare", "--template="], path)
    for key, value in (("gc.auto", "0"), ("core.logAllRefUpdates", "false")):
        run_git(["config", key, value], path)


def remote_head(
    repo: Path,
    url: str,
    *,
    protocols: Sequence[str],
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> tuple[str | None, str | None]:
    """(default branch ref such as ``refs/heads/main`` or None, HEAD commit or None) of ``url``."""
    proc = run_git(
        ["ls-remote", "--symref"],
        repo,
        operands=[url, "HEAD"],
        protocols=protocols,
        timeout=timeout,
        env=env,
    )
    branch = commit = None
    for line in proc.stdout.splitlines():
        left, _, right = line.partition("\t")
        if right != "HEAD":
            continue
        if left.startswith("ref: "):
            branch = left[5:].strip()
        elif re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", left):
            commit = left
    return branch, commit


def fetch(
    repo: Path,
    url: str,
    refspecs: Sequence[str],
    *,
    protocols: Sequence[str],
    timeout: float,
    max_bytes: int,
    env: Mapping[str, str] | None = None,
) -> None:
    """Fetch ``refspecs`` from ``url`` into the bare ``repo``: no submodules, no tags beyond
    the refspecs, objects checked, size and time capped."""
    run_git(
        [
            "-c",
            "transfer.fsckObjects=true",
            "fetch",
            "--quiet",
            "--no-tags",
            "--prune",
            "--no-recurse-submodules",
            "--no-write-fetch-head",
            "--no-auto-gc",
        ],
        repo,
        operands=[url, *refspecs],
        protocols=protocols,
        timeout=timeout,
        max_bytes=max_bytes,
        watch=repo,
        env=env,
    )


def rev_parse(repo: Path, expression: str) -> str | None:
    """The full object id ``expression`` names in ``repo``, or None."""
    proc = run_git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", expression], repo, check=False
    )
    value = proc.stdout.strip()
    return value if proc.returncode == 0 and value else None


def list_refs(repo: Path, prefix: str) -> dict[str, str]:
    """``{short name: peeled commit}`` for every ref under ``prefix`` (``refs/tags/``...)."""
    proc = run_git(
        [
            "for-each-ref",
            "--format=%(refname)%00%(objectname)%00%(*objectname)%00%(objecttype)%00%(*objecttype)",
            prefix,
        ],
        repo,
    )
    refs: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        name, obj, peeled, kind, peeled_kind = line.split("\0")
        commit = peeled if kind == "tag" else obj
        if (peeled_kind if kind == "tag" else kind) != "commit":
            continue  # a tag of a tree or blob is no version
        refs[name[len(prefix) :]] = commit
    return refs


def tree_entries(repo: Path, commit: str, *, timeout: float) -> list[tuple[str, str, str, int]]:
    """``(mode, object id, path, size)`` of every entry of ``commit``'s tree, recursively."""
    raw = subprocess_bytes(
        ["ls-tree", "-r", "-z", "-l", "--full-tree", "--end-of-options", commit],
        repo,
        timeout=timeout,
    )
    entries = []
    for record in raw.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, _kind, oid, size = meta.decode("ascii").split()
        entries.append(
            (mode, oid, path.decode("utf-8", "surrogateescape"), int(size) if size.isdigit() else 0)
        )
    return entries


def subprocess_bytes(
    args: Sequence[str], cwd: Path, *, timeout: float, stdin: bytes | None = None
) -> bytes:
    """Run a read-only plumbing command in our own cache repository and return its raw output."""
    exe = shutil.which("git")
    if exe is None:
        raise GitMissing("git is not installed")
    import subprocess

    try:
        proc = subprocess.run(
            [exe, "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", *args],
            cwd=cwd,
            env=_env(None, ()),
            input=stdin,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {args[0]} took longer than {timeout:g} s") from exc
    if proc.returncode != 0:
        detail = redact(_last_line(proc.stderr.decode("utf-8", "replace")))
        raise GitError(f"git {args[0]} failed: {detail}")
    return proc.stdout


def read_blobs(repo: Path, oids: Sequence[str], *, timeout: float) -> dict[str, bytes]:
    """The content of every blob in ``oids`` (one ``cat-file --batch`` call)."""
    if not oids:
        return {}
    unique = list(dict.fromkeys(oids))
    raw = subprocess_bytes(
        ["cat-file", "--batch"], repo, timeout=timeout, stdin=("\n".join(unique) + "\n").encode()
    )
    blobs: dict[str, bytes] = {}
    pos = 0
    for oid in unique:
        end = raw.index(b"\n", pos)
        header = raw[pos:end].decode("ascii").split(" ")
        if len(header) != 3 or header[1] != "blob":
            raise GitError(f"object {oid} is not a file in the repository")
        size = int(header[2])
        blobs[oid] = raw[end + 1 : end + 1 + size]
        pos = end + 1 + size + 1
    return blobs


def worktree_differs(git_dir: Path, worktree: Path, commit: str, *, timeout: float) -> bool:
    """True when the files of ``worktree`` differ from ``commit`` (modified, deleted or
    untracked files that are not ignored).

    git runs with *our* repository ``git_dir`` (a cache clone holding ``commit``) and
    a temporary index, never inside the working copy's own ``.git``: that config
    is not ours to trust (an fsmonitor or filter command there would run on
    ``git status``). In-tree ``.gitattributes`` can only name filter drivers,
    and none is defined in our config, so no command runs.
    """
    index = git_dir / f"index.tmp-{os.getpid()}"
    env = {"GIT_DIR": str(git_dir), "GIT_WORK_TREE": str(worktree), "GIT_INDEX_FILE": str(index)}
    try:
        run_git(["read-tree", "--end-of-options", commit], worktree, env=env, timeout=timeout)
        run_git(
            ["update-index", "-q", "--refresh"], worktree, env=env, timeout=timeout, check=False
        )
        changed = run_git(
            ["diff-files", "--quiet"], worktree, env=env, timeout=timeout, check=False
        )
        if changed.returncode != 0:
            return True
        others = run_git(
            ["ls-files", "--others", "--exclude-standard", "-z"], worktree, env=env, timeout=timeout
        )
        return bool(others.stdout)
    finally:
        index.unlink(missing_ok=True)


# -- the core's Vcs protocol (codeforge.core.vcs) --------------------------------------------


class GitVcs:
    """:class:`codeforge.core.vcs.Vcs` through this module's hardened wrapper."""

    def commit_all(
        self, path: Path, message: str, *, author_name: str | None, author_email: str | None
    ) -> str:
        """``git init`` + add everything + first commit (see :func:`init_and_commit`)."""
        return init_and_commit(path, message, author_name=author_name, author_email=author_email)

    def changed_paths(self, project: Path) -> list[str] | None:
        """``git status --porcelain`` under ``project``; None when git or a repository is missing."""
        try:
            proc = run_git(
                ["status", "--porcelain", "--untracked-files=normal"], project, check=False
            )
        except GitMissing:
            return None
        if proc.returncode != 0:
            if "not a git repository" in proc.stderr:
                return None
            raise GitError(f"git status failed in {project}: {proc.stderr.strip()[-300:]}")
        return [line[3:] for line in proc.stdout.splitlines() if line.strip()]

    def merge_text(
        self, labels: tuple[str, str, str], base: bytes, ours: bytes, theirs: bytes
    ) -> tuple[bytes, bool]:
        """``git merge-file`` on three scratch files."""
        with tempfile.TemporaryDirectory(prefix="codeforge-merge-") as scratch:
            folder = Path(scratch)
            for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
                (folder / name).write_bytes(data)
            # Without -p git writes the result over "ours": read back as bytes, so CRLF
            # and encodings survive (the wrapper reads output as text).
            proc = run_git(
                ["merge-file", "-L", labels[0], "-L", labels[1], "-L", labels[2]],
                folder,
                operands=("ours", "base", "theirs"),
                check=False,
            )
            if not 0 <= proc.returncode <= 127:
                raise GitError(f"git merge-file failed: {proc.stderr.strip()[-300:]}")
            return (folder / "ours").read_bytes(), proc.returncode > 0
