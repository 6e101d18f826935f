"""The git side of ``codeforge publish``, through the hardened wrapper.

The forge token reaches git only as an ``Authorization`` header scoped to the
clone URL (``http.<url>.extraHeader`` in git's environment config): never in a
URL, in argv or in ``.git/config``. Pushes are fast-forward only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from codeforge.core.publishing import LocalState, is_loopback
from codeforge.errors import ConflictError, GitError
from codeforge.integrations.git import run_git

PUSH_TIMEOUT = 300.0


def _protocols(url: str) -> Sequence[str]:
    parts = urlsplit(url)
    if parts.scheme == "http" and is_loopback(parts.hostname or ""):
        return ("http",)  # a forge on this machine (tests, a local mirror)
    if parts.scheme != "https":
        raise GitError(f"refusing to push over {parts.scheme or 'an unknown scheme'}://", where=url)
    return ("https",)


def _header_env(url: str, header: str) -> dict[str, str]:
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{url}.extraHeader",
        "GIT_CONFIG_VALUE_0": header,
    }


class HttpsPusher:
    """:class:`codeforge.core.publishing.GitPusher` over https with a URL-scoped header."""

    def local(self, path: Path) -> LocalState:
        """The current branch and commit; ConflictError (exit 4) unless a clean git repository."""
        if not path.is_dir():
            raise ConflictError("the project folder does not exist", where=str(path))
        found = run_git(["rev-parse", "--absolute-git-dir"], path, check=False)
        if found.returncode != 0:
            raise ConflictError(
                "not a git repository", where=str(path), hint="run `git init` and commit first"
            )
        git_dir = Path(found.stdout.strip())
        head = run_git(["rev-parse", "--verify", "--quiet", "HEAD"], path, check=False)
        if head.returncode != 0:
            raise ConflictError("the repository has no commit yet", where=str(path))
        branch = run_git(["symbolic-ref", "--quiet", "--short", "HEAD"], path, check=False)
        if branch.returncode != 0:
            raise ConflictError(
                "HEAD is detached", where=str(path), hint="check out the branch to publish"
            )
        status = run_git(["status", "--porcelain", "--untracked-files=normal"], path)
        if status.stdout.strip():
            raise ConflictError(
                "the project has uncommitted changes",
                where=str(path),
                hint="commit or stash them, then publish again",
            )
        return LocalState(branch.stdout.strip(), head.stdout.strip(), git_dir)

    def remote_heads(self, path: Path, url: str, header: str) -> dict[str, str]:
        """``{refs/heads/NAME: commit}`` on the remote."""
        proc = run_git(
            ["ls-remote", "--heads"],
            path,
            operands=[url],
            env=_header_env(url, header),
            protocols=_protocols(url),
            timeout=60,
        )
        heads: dict[str, str] = {}
        for line in proc.stdout.splitlines():
            sha, _, ref = line.partition("\t")
            if ref.startswith("refs/heads/"):
                heads[ref] = sha
        return heads

    def contains(self, path: Path, commit: str, head: str) -> bool:
        """Whether ``commit`` is in the local history of ``head``."""
        proc = run_git(
            ["merge-base", "--is-ancestor", "--end-of-options", commit, head], path, check=False
        )
        return proc.returncode == 0

    def push(self, path: Path, url: str, header: str, branch: str) -> None:
        """``git push URL refs/heads/B:refs/heads/B`` (never forced)."""
        ref = f"refs/heads/{branch}"
        try:
            run_git(
                ["push", "--quiet", "--no-verify", "--porcelain"],
                path,
                operands=[url, f"{ref}:{ref}"],
                env=_header_env(url, header),
                protocols=_protocols(url),
                timeout=PUSH_TIMEOUT,
            )
        except GitError as exc:
            text = str(exc)
            if "rejected" in text or "fetch first" in text or "non-fast-forward" in text:
                raise ConflictError(
                    f"the remote branch {branch} has diverged; refusing to overwrite it",
                    where=url,
                    hint=f"fetch and merge it first: git pull {url} {branch}",
                ) from None
            raise
