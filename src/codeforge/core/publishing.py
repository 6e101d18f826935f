"""What publishing a project needs from a forge and from git: the protocols and their types.

:mod:`codeforge.app.publish` drives them; :mod:`codeforge.integrations` implements
them (GitHub, GitLab, the hardened git wrapper) without importing app, and the
composition root wires the two together.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

Visibility = Literal["private", "internal", "public"]


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (IPv6 with or without its brackets)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclasses.dataclass(frozen=True)
class RemoteRepo:
    """A repository on a forge, as CodeForge needs it."""

    owner: str
    name: str
    clone_url: str  # https (http for a loopback test server), never with credentials
    web_url: str


@dataclasses.dataclass(frozen=True)
class LocalState:
    """The project's git history as it stands: branch and commit to publish."""

    branch: str
    head: str
    git_dir: Path


class ForgeRepos(Protocol):
    """Repository operations on one forge, for one token."""

    @property
    def login(self) -> str:
        """The account the token belongs to."""

    def find(self, owner: str, name: str) -> RemoteRepo | None:
        """The repository, or None when there is none."""

    def check_owner(self, owner: str) -> None:
        """NotFoundError when ``owner`` is neither the user nor an org/group it can see."""

    def create(self, owner: str, name: str, visibility: Visibility, description: str) -> RemoteRepo:
        """A new empty repository for the user (``owner == login``) or an org/group."""

    def configure(
        self, repo: RemoteRepo, branch: str, description: str | None, topics: Sequence[str]
    ) -> None:
        """Set the default branch, the description (when given) and the topics (when any)."""

    def protect(self, repo: RemoteRepo, branch: str) -> None:
        """Protect ``branch`` (no force push, no deletion)."""

    def set_secret(self, repo: RemoteRepo, name: str, value: str) -> None:
        """Store a CI secret (sealed on GitHub, masked + protected on GitLab)."""

    def push_header(self) -> str:
        """The ``Authorization`` header git sends to the clone URL (never put in a URL)."""


class GitPusher(Protocol):
    """The git side of a publish."""

    def local(self, path: Path) -> LocalState:
        """The branch and commit to publish; ConflictError when not a clean git repository."""

    def remote_heads(self, path: Path, url: str, header: str) -> dict[str, str]:
        """``{refname: commit}`` of the remote's branches."""

    def contains(self, path: Path, commit: str, head: str) -> bool:
        """Whether ``commit`` is ``head`` or one of its ancestors in the local history."""

    def push(self, path: Path, url: str, header: str, branch: str) -> None:
        """Push ``branch`` to ``url``, fast-forward only."""


class PublishRecorder(Protocol):
    """Where a publish is recorded (the Project row and an Activity row)."""

    def record_publish(self, path: Path, provider: str, remote_url: str, at: datetime) -> bool:
        """Record it; False when no project is recorded at ``path`` (only Activity then).

        A recorder that defers the write (the CLI's journal) answers True: the
        store applies it to the project at ``path`` when it next reads the journal.
        """


class PublishingForge(Protocol):
    """A forge plugin that can publish: its repository operations for one token."""

    @property
    def name(self) -> str:
        """The provider's name (``github``, ``gitlab``)."""

    def repos(self, host: str, token: str, login: str) -> ForgeRepos:
        """The repository operations on ``host`` as the account ``login`` of ``token``."""


@dataclasses.dataclass(frozen=True)
class PullRequest:
    """A pull request (GitHub) or merge request (GitLab), as CodeForge needs it."""

    number: int  # GitHub's number, GitLab's iid
    web_url: str
    head: str
    base: str
    title: str
    body: str


class ForgePulls(Protocol):
    """Pull (merge) request operations on one forge, for one token."""

    def find_pull(self, repo: RemoteRepo, head: str, base: str) -> PullRequest | None:
        """The open pull request from branch ``head`` into ``base``, or None."""

    def open_pull(
        self, repo: RemoteRepo, head: str, base: str, title: str, body: str
    ) -> PullRequest:
        """Open a pull request from ``head`` into ``base``."""

    def edit_pull(self, repo: RemoteRepo, pull: PullRequest, title: str, body: str) -> PullRequest:
        """Replace the title and body of ``pull``."""


class UpdateBranches(Protocol):
    """The git side of ``update --pr``: a scratch checkout and a branch made from it."""

    def checkout(self, path: Path, commit: str, into: Path) -> None:
        """A scratch worktree of ``path``'s repository at ``commit`` (detached) in ``into``."""

    def discard(self, path: Path, into: Path) -> None:
        """Remove the scratch worktree ``into`` (and its administrative files)."""

    def fetch(self, path: Path, url: str, header: str, branch: str) -> str | None:
        """Fetch ``branch`` from ``url`` into the local object store; its commit, or None."""

    def commit_tree(self, worktree: Path, parents: Sequence[str], message: str) -> tuple[str, str]:
        """Stage everything in ``worktree``; ``(tree, commit)``, committing only when the
        tree differs from the first parent's (else the commit is that parent)."""

    def set_branch(self, path: Path, branch: str, commit: str) -> None:
        """Point the local branch ``branch`` at ``commit``."""

    def is_ancestor(self, path: Path, commit: str, of: str) -> bool:
        """Whether ``commit`` is ``of`` or one of its ancestors."""

    def origin_url(self, path: Path) -> str | None:
        """The URL of the repository's ``origin`` remote; None when there is none."""


class ActivityRecorder(Protocol):
    """Where a forge operation on a recorded project is logged (an Activity row)."""

    def record_activity(
        self, path: Path, action: str, target: str, details: dict[str, object], at: datetime
    ) -> bool:
        """Log ``action`` for the project at ``path``; False when no project is recorded there."""
