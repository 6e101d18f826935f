"""Publish a project to a forge: create the repository, push, configure, store CI secrets.

The use case takes its collaborators: the forge's repository operations
(:class:`~codeforge.core.publishing.ForgeRepos`, from the forge plugin), a
:class:`~codeforge.core.publishing.GitPusher` (the hardened git wrapper), a
:class:`~codeforge.core.publishing.PublishRecorder` (the project store) and a
clock; those protocols live in core so the integrations implement them without
importing app. It
never sees a token except to hand it to them.

Order matters for resuming: create, push, configure, protect, secrets. Each step
done is written to a state file inside ``.git`` (never in the tree, never the
token), so the next ``publish`` after a failure resumes instead of refusing the
repository it created itself as "foreign".
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from codeforge.core.publishing import (
    ForgeRepos,
    GitPusher,
    LocalState,
    PublishRecorder,
    RemoteRepo,
    Visibility,
)
from codeforge.errors import ConflictError, UsageError

STATE_FILE: Final = "codeforge-publish.json"
_REPO_RE: Final = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_TOPIC_RE: Final = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
_SECRET_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")


@dataclasses.dataclass(frozen=True)
class PublishRequest:
    """What ``codeforge publish`` was asked to do."""

    path: Path
    provider: str
    host: str
    owner: str | None = None
    repo: str | None = None
    visibility: Visibility = "private"
    description: str | None = None
    topics: tuple[str, ...] = ()
    protect: bool = False
    dry_run: bool = False
    secrets: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)


@dataclasses.dataclass(frozen=True)
class PublishResult:
    """What was (or, in a dry run, would be) done."""

    provider: str
    host: str
    owner: str
    name: str
    remote_url: str
    web_url: str
    branch: str
    head: str
    steps: tuple[str, ...]
    dry_run: bool
    recorded: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def request_from(
    path: Path,
    provider: str,
    host: str,
    options: Mapping[str, Any],
    dry_run: bool = False,
    secrets: Mapping[str, str] | None = None,
) -> PublishRequest:
    """The request from the options ``publish``, ``init --publish`` and the API share
    (``owner``, ``repo``, ``visibility``, ``description``, ``topics``,
    ``protect_default_branch``)."""
    return PublishRequest(
        path=path,
        provider=provider,
        host=host,
        owner=options.get("owner"),
        repo=options.get("repo"),
        visibility=options.get("visibility") or "private",
        description=options.get("description"),
        topics=tuple(options.get("topics") or ()),
        protect=bool(options.get("protect_default_branch")),
        dry_run=dry_run,
        secrets=dict(secrets or {}),
    )


def check_request(request: PublishRequest) -> None:
    """Usage errors for a repository name, topics or secret names the forges would refuse."""
    if request.repo is not None and (
        not _REPO_RE.match(request.repo) or request.repo in (".", "..")
    ):
        raise UsageError(
            f"invalid repository name {request.repo!r}",
            where="--repo",
            hint="use letters, digits, '.', '_' and '-' (at most 100 characters)",
        )
    for topic in request.topics:
        if not _TOPIC_RE.match(topic):
            raise UsageError(
                f"invalid topic {topic!r}",
                where="--topic",
                hint="lowercase letters, digits and '-', starting with a letter or digit",
            )
    for name in request.secrets:
        if not _SECRET_RE.match(name):
            raise UsageError(f"invalid secret name {name!r}", where="publish.secrets")


def repo_name(request: PublishRequest) -> str:
    """``--repo``, else the project folder's name made acceptable to a forge."""
    if request.repo:
        return request.repo
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", request.path.resolve().name).strip("-.")
    return name[:100] or "project"


def load_state(git_dir: Path) -> dict[str, Any]:
    """The recorded state of earlier publishes (``{}`` when none or unreadable)."""
    try:
        data = json.loads((git_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_state(git_dir: Path, state: Mapping[str, Any]) -> None:
    """Write the state atomically (a rename), so a crash leaves the old one or the new."""
    target = git_dir / STATE_FILE
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
    temporary.replace(target)


def https_pusher() -> GitPusher:
    """The pusher of the hardened git wrapper: https, the token in a URL-scoped header."""
    from codeforge.integrations.gitpush import HttpsPusher

    return HttpsPusher()


def _key(request: PublishRequest, owner: str, name: str) -> str:
    return f"{request.provider}|{request.host}|{owner}|{name}".lower()


@dataclasses.dataclass
class Publisher:
    """The publish use case with its collaborators."""

    repos: ForgeRepos
    pusher: GitPusher
    recorder: PublishRecorder | None
    clock: Callable[[], datetime]

    def publish(self, request: PublishRequest) -> PublishResult:
        """Create (or reuse) the repository, push, configure it, store the secrets, record it."""
        check_request(request)
        local = self.pusher.local(request.path)
        owner = request.owner or self.repos.login
        name = repo_name(request)
        state = load_state(local.git_dir)
        mine = state.get("key") == _key(request, owner, name) and state.get("created")
        existing = self.repos.find(owner, name)
        header = self.repos.push_header()
        if existing is None:
            self.repos.check_owner(owner)
        else:
            self._check_remote(request, existing, local, header, ours=bool(mine))
        if request.dry_run:
            return self._dry(request, owner, name, existing, local)
        if existing is None:
            description = request.description or ""
            existing = self.repos.create(owner, name, request.visibility, description)
        state = {"key": _key(request, owner, name), "created": True, "done": []}
        state["remote_url"] = existing.clone_url
        save_state(local.git_dir, state)
        steps = self._steps(request, existing, local, header, state)
        recorded = False
        if self.recorder is not None:
            at = self.clock()
            recorded = self.recorder.record_publish(
                request.path.resolve(), request.provider, existing.web_url, at
            )
        return PublishResult(
            request.provider, request.host, owner, name, existing.clone_url,
            existing.web_url, local.branch, local.head, steps, False, recorded,
        )  # fmt: skip

    def _check_remote(
        self,
        request: PublishRequest,
        repo: RemoteRepo,
        local: LocalState,
        header: str,
        *,
        ours: bool,
    ) -> None:
        heads = self.pusher.remote_heads(request.path, repo.clone_url, header)
        foreign = [
            ref
            for ref, sha in heads.items()
            if not self.pusher.contains(request.path, sha, local.head)
        ]
        if not foreign:
            return
        if not ours:
            raise ConflictError(
                f"{request.provider} repository {repo.owner}/{repo.name} already exists "
                "with content that is not this project's history",
                where="--repo",
                hint="choose another --repo (or --owner); nothing was changed",
            )
        branch_ref = f"refs/heads/{local.branch}"
        if branch_ref in foreign:
            raise ConflictError(
                f"the remote branch {local.branch} of {repo.owner}/{repo.name} has diverged "
                "from the local history; refusing to overwrite it",
                where=repo.web_url,
                hint=f"fetch and merge it first: git pull {repo.clone_url} {local.branch}",
            )

    def _dry(
        self,
        request: PublishRequest,
        owner: str,
        name: str,
        existing: RemoteRepo | None,
        local: LocalState,
    ) -> PublishResult:
        steps = [] if existing else [f"create {request.visibility} repository {owner}/{name}"]
        steps += _planned(request, local.branch)
        url = existing.clone_url if existing else ""
        web = existing.web_url if existing else ""
        return PublishResult(
            request.provider, request.host, owner, name, url, web,
            local.branch, local.head, tuple(steps), True,
        )  # fmt: skip

    def _steps(
        self,
        request: PublishRequest,
        repo: RemoteRepo,
        local: LocalState,
        header: str,
        state: dict[str, Any],
    ) -> tuple[str, ...]:
        done: list[str] = []

        def step(label: str, action: Callable[[], None]) -> None:
            action()
            done.append(label)
            state["done"] = done
            save_state(local.git_dir, state)

        step(
            f"push {local.branch}",
            lambda: self.pusher.push(request.path, repo.clone_url, header, local.branch),
        )
        step(
            "configure",
            lambda: self.repos.configure(repo, local.branch, request.description, request.topics),
        )
        if request.protect:
            step(f"protect {local.branch}", lambda: self.repos.protect(repo, local.branch))
        for key in sorted(request.secrets):
            value = request.secrets[key]
            step(f"secret {key}", lambda k=key, v=value: self.repos.set_secret(repo, k, v))  # type: ignore[misc]
        return tuple(done)


def _planned(request: PublishRequest, branch: str) -> list[str]:
    steps = [f"push {branch}", "configure"]
    if request.protect:
        steps.append(f"protect {branch}")
    steps += [f"secret {key}" for key in sorted(request.secrets)]
    return steps
