"""The git side of ``codeforge update --pr``, through the hardened wrapper.

The update runs in a scratch worktree (``git worktree add --detach``) of the
project's repository, so the user's checkout, its branch and its files never
change. The branch is then made with plumbing (``write-tree``, ``commit-tree``,
``update-ref``). A fetch, like a push, carries the token only as an
``Authorization`` header scoped to the URL, in git's environment config.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from codeforge.errors import GitError
from codeforge.integrations.git import run_git
from codeforge.integrations.gitpush import PUSH_TIMEOUT, _header_env, _protocols
from codeforge.redaction import redact

_SCRATCH_REF = "refs/codeforge/update-fetch"


def _identity(path: Path) -> dict[str, str]:
    """The user's git identity (one ``git config`` call), else CodeForge's."""
    found = run_git(["config", "--get-regexp", r"^user\.(name|email)$"], path, check=False)
    values = dict(line.partition(" ")[::2] for line in found.stdout.splitlines())
    name = values.get("user.name") or "CodeForge"
    email = values.get("user.email") or "codeforge@localhost"
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


def clone(url: str, header: str, into: Path) -> None:
    """``git clone URL INTO`` (no tags), the token only as a header scoped to ``url``."""
    into.parent.mkdir(parents=True, exist_ok=True)
    run_git(
        ["clone", "--quiet", "--no-tags"], into.parent, operands=[url, str(into)],
        env=_header_env(url, header), protocols=_protocols(url), timeout=PUSH_TIMEOUT,
    )  # fmt: skip


class GitUpdateBranches:
    """:class:`codeforge.core.publishing.UpdateBranches` with ``git worktree`` and plumbing."""

    def checkout(self, path: Path, commit: str, into: Path) -> None:
        """``git worktree add --detach INTO COMMIT`` (no hooks run: the wrapper disables them)."""
        run_git(["worktree", "add", "--quiet", "--detach"], path, operands=[str(into), commit])

    def discard(self, path: Path, into: Path) -> None:
        """``git worktree remove --force INTO``; when that fails, prune what is left of it."""
        removed = run_git(
            ["worktree", "remove", "--force"], path, operands=[str(into)], check=False
        )
        if removed.returncode != 0:  # e.g. the folder is already gone: drop its record
            run_git(["worktree", "prune"], path, check=False)

    def fetch(self, path: Path, url: str, header: str, branch: str) -> str | None:
        """The remote ``branch``'s commit, fetched into a private ref; None when there is none."""
        ref = f"refs/heads/{branch}"
        fetched = run_git(
            ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head"], path,
            operands=[url, f"+{ref}:{_SCRATCH_REF}"], env=_header_env(url, header),
            protocols=_protocols(url), timeout=PUSH_TIMEOUT, check=False,
        )  # fmt: skip
        if fetched.returncode != 0:
            if "couldn't find remote ref" in fetched.stderr.lower():
                return None  # one round trip instead of ls-remote + fetch
            raise GitError(
                f"git fetch of {branch} failed: {redact(fetched.stderr.strip()[-300:])}", where=url
            )
        return run_git(["rev-parse", "--verify", _SCRATCH_REF], path).stdout.strip()

    def commit_tree(self, worktree: Path, parents: Sequence[str], message: str) -> tuple[str, str]:
        """``add --all`` + ``write-tree``; a new commit only when the tree changed."""
        run_git(["add", "--all"], worktree)
        tree = run_git(["write-tree"], worktree).stdout.strip()
        first = run_git(["rev-parse", "--verify", f"{parents[0]}^{{tree}}"], worktree)
        if first.stdout.strip() == tree:
            return tree, parents[0]
        args = ["commit-tree", "--no-gpg-sign", "-m", message]
        for parent in parents:
            args += ["-p", parent]
        commit = run_git([*args, tree], worktree, env=_identity(worktree)).stdout.strip()
        return tree, commit

    def set_branch(self, path: Path, branch: str, commit: str) -> None:
        """``git update-ref refs/heads/BRANCH COMMIT``."""
        run_git(["update-ref", "-m", "codeforge update --pr", f"refs/heads/{branch}", commit], path)

    def is_ancestor(self, path: Path, commit: str, of: str) -> bool:
        """``git merge-base --is-ancestor``."""
        proc = run_git(
            ["merge-base", "--is-ancestor", "--end-of-options", commit, of], path, check=False
        )
        return proc.returncode == 0

    def origin_url(self, path: Path) -> str | None:
        """``git remote get-url origin``; None when the repository has no ``origin``."""
        proc = run_git(["remote", "get-url", "origin"], path, check=False)
        url = proc.stdout.strip()
        return url if proc.returncode == 0 and url else None
