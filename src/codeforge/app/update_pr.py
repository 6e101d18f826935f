"""``codeforge update --pr``: the update on its own branch, pushed, as a pull (merge) request.

The update runs in a scratch worktree of the project's repository at the
current commit, so the user's checkout never changes. What it changed becomes
one commit on ``codeforge/update-<blueprint>-<version>``:

* a first run makes the branch from the current commit, pushes it and opens
  the pull request (GitHub) or merge request (GitLab);
* a run while that branch exists on the remote builds on its tip (and on the
  current commit when the base branch moved on, as a merge), so the push stays
  a fast-forward, and the same pull request gets the new title and body.

The repository is the one ``codeforge publish`` recorded in ``.git``, else the
one the ``origin`` remote names (its forge told by the host). The
collaborators (update, git, forge, recorder) are passed in; this module holds
only the order of the steps and the text of the pull request.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from codeforge.app.publish import load_state
from codeforge.core.credentials import normalise_host
from codeforge.core.publishing import (
    ActivityRecorder,
    ForgePulls,
    ForgeRepos,
    GitPusher,
    PullRequest,
    RemoteRepo,
    UpdateBranches,
)
from codeforge.core.update import UpdateOptions, UpdateResult
from codeforge.errors import NotFoundError, UsageError
from codeforge.redaction import redact

Action = Literal["opened", "updated", "unchanged", "up-to-date"]
BRANCH_PREFIX = "codeforge/update-"


class PullForge(ForgeRepos, ForgePulls, Protocol):
    """A forge that can publish and open pull requests."""


@dataclasses.dataclass(frozen=True)
class ForgeTarget:
    """The forge repository a project was published to."""

    provider: str
    host: str
    owner: str
    name: str


@dataclasses.dataclass(frozen=True)
class UpdatePullResult:
    """What ``update --pr`` did for one project."""

    project: Path
    blueprint: str
    from_version: str
    to_version: str
    action: Action
    branch: str = ""
    base: str = ""
    commit: str = ""
    changed: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    pull: PullRequest | None = None

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["project"] = str(self.project)
        return data


def branch_name(blueprint: str, version: str) -> str:
    """``codeforge/update-<blueprint>-<version>``, with what git refuses in a ref replaced."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{blueprint}-{version}").strip("-.")
    return BRANCH_PREFIX + re.sub(r"\.{2,}", ".", safe).removesuffix(".lock")


def published_target(git_dir: Path) -> ForgeTarget | None:
    """The repository ``codeforge publish`` recorded; None when there is none."""
    key = str(load_state(git_dir).get("key", ""))
    parts = key.split("|")
    if len(parts) != 4 or not all(parts):
        return None
    return ForgeTarget(*parts)


# ``[user@]host:owner/name.git``, git's scp-like form of an ssh URL.
_SCP_FORM = re.compile(r"^(?:[^@/\s]+@)?(?P<host>[A-Za-z0-9.-]+):(?!//)(?P<path>[^\s]+)$")


def _host_and_path(url: str) -> tuple[str, str] | None:
    """The forge host (as ``normalise_host`` keys it) and the repository path of a remote URL."""
    if "://" not in url:
        match = _SCP_FORM.match(url)
        return (match["host"], match["path"]) if match else None
    parts = urlsplit(url)
    try:
        hostname, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not hostname or parts.scheme not in ("https", "http", "ssh", "git"):
        return None
    if parts.scheme == "http":  # a forge on plain HTTP keeps its scheme in the key
        return f"http://{hostname}{f':{port}' if port else ''}", parts.path
    # An ssh or git port is not the forge's web port.
    return f"{hostname}{f':{port}' if port and parts.scheme == 'https' else ''}", parts.path


def origin_target(url: str, provider_for: Callable[[str], str], where: str) -> ForgeTarget:
    """The forge repository an ``origin`` URL (https, http, ssh or ``host:owner/name``) names."""
    found = _host_and_path(url)
    segments = [s for s in (found[1] if found else "").split("/") if s]
    if found is None or len(segments) < 2:
        raise UsageError(
            f"the origin remote ({redact(url)}) does not name a forge repository",
            where=where,
            hint="point origin at the repository, e.g. https://github.com/OWNER/NAME.git",
        )
    host = normalise_host(found[0])
    name = segments[-1].removesuffix(".git")
    # GitLab groups nest: the owner is every segment but the last.
    return ForgeTarget(provider_for(host), host, "/".join(segments[:-1]), name)


def title_of(result: UpdateResult) -> str:
    return f"Update {result.blueprint} from {result.from_version} to {result.to_version}"


def body_of(result: UpdateResult, source: str = "") -> str:
    """The pull request's body: versions, changed files, conflicts and their ``.rej`` files."""
    lines = [
        f"CodeForge updates this project from **{result.blueprint} {result.from_version}** "
        f"to **{result.blueprint} {result.to_version}**.",
        "",
        f"- Blueprint: `{result.blueprint}`",
        f"- From version: `{result.from_version}`",
        f"- To version: `{result.to_version}`",
    ]
    if source:
        lines.append(f"- Source: `{source}`")
    lines += ["", f"### Changed files ({len(result.changes)})", ""]
    lines += [f"- `{c.path}` ({c.action})" for c in result.changes]
    conflicts = result.conflicts
    if conflicts:
        lines += ["", f"### Conflicts ({len(conflicts)})", ""]
        for path in conflicts:
            if path.endswith(".rej"):
                lines.append(
                    f"- `{path.removesuffix('.rej')}`: your version is kept; the blueprint's "
                    f"change is in `{path}`. Apply it by hand, then delete `{path}`."
                )
            else:
                lines.append(f"- `{path}`: conflict markers in the file; resolve them.")
    else:
        lines += ["", "No conflicts."]
    if result.migrations:
        lines += ["", "Migrations run: " + ", ".join(f"`{m}`" for m in result.migrations)]
    return "\n".join(lines) + "\n"


@dataclasses.dataclass
class UpdatePull:
    """The ``update --pr`` use case with its collaborators.

    ``update`` runs the core update on a folder; ``open_forge(provider, host)``
    gives the forge client for the token the caller resolved.
    """

    update: Callable[[Path, UpdateOptions], UpdateResult]
    pusher: GitPusher
    branches: UpdateBranches
    open_forge: Callable[[str, str], PullForge]
    recorder: ActivityRecorder | None
    clock: Callable[[], datetime]
    # Which forge (provider) a host is, for a repository known only by its origin URL.
    provider_for: Callable[[str], str]

    def run(self, path: Path, options: UpdateOptions) -> UpdatePullResult:
        """Update ``path`` on a branch, push it, open or update its pull request."""
        if options.dry_run:
            raise UsageError("--pr cannot be combined with --dry-run", where="--pr")
        path = path.resolve()
        local = self.pusher.local(path)
        if local.branch.startswith(BRANCH_PREFIX):
            raise UsageError(
                f"the project is on the update branch {local.branch}",
                where=str(path),
                hint="check out the branch the pull request should go into, then run again",
            )
        target = self._target(path, local.git_dir)
        forge = self.open_forge(target.provider, target.host)
        repo = forge.find(target.owner, target.name)
        if repo is None:
            raise NotFoundError(
                f"{target.provider} at {target.host} has no repository "
                f"{target.owner}/{target.name} (recorded by `codeforge publish`)",
                where=str(path),
            )
        header = forge.push_header()
        made = self._commit(path, local.head, repo, header, options)
        result, branch, tip, commit = made
        if not result.changes:
            return UpdatePullResult(
                path, result.blueprint, result.from_version, result.to_version, "up-to-date"
            )
        if commit != tip:
            self.branches.set_branch(path, branch, commit)
            self.pusher.push(path, repo.clone_url, header, branch)
        pull, action = self._pull(forge, repo, (branch, local.branch), result, commit != tip)
        done = UpdatePullResult(
            path, result.blueprint, result.from_version, result.to_version, action,
            branch, local.branch, commit, tuple(c.path for c in result.changes),
            tuple(result.conflicts), pull,
        )  # fmt: skip
        self._record(done)
        return done

    def _target(self, path: Path, git_dir: Path) -> ForgeTarget:
        """The repository ``publish`` recorded, else the one the ``origin`` remote names."""
        recorded = published_target(git_dir)
        if recorded is not None:
            return recorded
        url = self.branches.origin_url(path)
        if url is None:
            raise NotFoundError(
                "the project was not published with `codeforge publish` and has no `origin` "
                "remote, so there is no repository to open a pull request on",
                where=str(path),
                hint="publish it (codeforge publish PATH --to github|gitlab) "
                "or add its repository: git remote add origin URL",
            )
        return origin_target(url, self.provider_for, str(path))

    def _commit(
        self, path: Path, head: str, repo: RemoteRepo, header: str, options: UpdateOptions
    ) -> tuple[UpdateResult, str, str | None, str]:
        """Update a scratch worktree at ``head`` and commit it onto the update branch."""
        scratch = Path(tempfile.mkdtemp(prefix="codeforge-update-"))
        into = scratch / path.name  # the folder's name may be the project's name
        try:
            self.branches.checkout(path, head, into)
            try:
                result = self.update(into, options)
                if not result.changes:
                    return result, "", None, head
                branch = branch_name(result.blueprint, result.to_version)
                tip = self.branches.fetch(path, repo.clone_url, header, branch)
                parents = [head] if tip is None else [tip]
                if tip is not None and not self.branches.is_ancestor(path, head, tip):
                    parents.append(head)  # the base moved on: merge it in, no force push
                message = f"{title_of(result)}\n\n{body_of(result)}"
                _, commit = self.branches.commit_tree(into, parents, message)
                return result, branch, tip, commit
            finally:
                self.branches.discard(path, into)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _pull(
        self,
        forge: PullForge,
        repo: RemoteRepo,
        branches: tuple[str, str],
        result: UpdateResult,
        pushed: bool,
    ) -> tuple[PullRequest, Action]:
        head, base = branches
        title, body = title_of(result), body_of(result)
        found = forge.find_pull(repo, head, base)
        if found is None:
            return forge.open_pull(repo, head, base, title, body), "opened"
        if (found.title, found.body) == (title, body) and not pushed:
            return found, "unchanged"
        return forge.edit_pull(repo, found, title, body), "updated"

    def _record(self, done: UpdatePullResult) -> None:
        if self.recorder is None or done.pull is None:
            return
        details: dict[str, object] = {
            "blueprint": done.blueprint,
            "from_version": done.from_version,
            "to_version": done.to_version,
            "branch": done.branch,
            "pull": done.pull.number,
            "outcome": done.action,
            "conflicts": list(done.conflicts),
        }
        self.recorder.record_activity(
            done.project, "update-pr", done.pull.web_url, details, self.clock()
        )
