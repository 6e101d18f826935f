"""Open a forge client for a (provider, host) with the caller's own token.

Shared by ``update --pr`` and ``fleet update``: the token is resolved and checked
(``who am I``, the scopes) once per provider and host, and each thread keeps its
own client (one HTTP session, reused by its next projects), so concurrent updates
never share a session.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codeforge.core.credentials import (
    CredentialStore,
    Forge,
    check_credential,
    forge_named,
    normalise_host,
)
from codeforge.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from codeforge.app.fleet import FleetEntry, FleetOutcome
    from codeforge.app.update_pr import PullForge, UpdatePull
    from codeforge.core.collaborators import Reporter
    from codeforge.core.source import BlueprintResolver
    from codeforge.core.update import CheckResult, UpdateOptions, UpdateResult
    from codeforge.settings import Settings


class ForgeOpener:
    """``opener(provider, host)``: a forge client that can push and open pull requests."""

    def __init__(
        self,
        forges: Iterable[Forge],
        store: CredentialStore,
        environ: Mapping[str, str],
        credential: str | None = None,
    ) -> None:
        self._forges = list(forges)
        self._store, self._environ, self._credential = store, environ, credential
        self._tokens: dict[tuple[str, str], tuple[Any, str, str]] = {}
        self._lock = threading.Lock()
        self._clients = threading.local()

    def provider_for(self, host: str) -> str:
        """Which forge ``host`` is: a forge's default host, else the one forge this user has
        a stored credential (or a ``*_TOKEN`` variable) for; UsageError when that is unclear."""
        host = normalise_host(host)
        for forge in self._forges:
            if normalise_host(forge.default_host) == host:
                return forge.name
        names = {forge.name for forge in self._forges}
        with self._lock:  # the store may be opened on this first use: once, for every thread
            listed = self._store.list()
        stored = {info.provider for info in listed if info.host == host} & names
        if len(stored) == 1:
            return stored.pop()
        from_env = {f.name for f in self._forges if self._environ.get(f.token_env, "").strip()}
        if not stored and len(from_env) == 1:
            return from_env.pop()
        raise UsageError(
            f"cannot tell which forge {host} is ({' or '.join(sorted(names))})",
            where="origin",
            hint=f"store a credential for it: codeforge credentials set PROVIDER --host {host}",
        )

    def __call__(self, provider: str, host: str) -> PullForge:
        host = normalise_host(host)
        with self._lock:  # one `who am I` per forge, even with concurrent callers
            known = self._tokens.get((provider, host))
            if known is None:
                forge = forge_named(self._forges, provider)
                if not hasattr(forge, "repos"):
                    raise UsageError(f"the forge {provider!r} cannot open pull requests")
                account, resolved = check_credential(
                    self._store, forge, host, self._credential, self._environ
                )
                known = (forge, resolved.token, account.login)
                self._tokens[(provider, host)] = known
        clients: dict[tuple[str, str], PullForge] = self._clients.__dict__.setdefault("by_host", {})
        repos = clients.get((provider, host))  # this thread's: one HTTP session per thread
        if repos is None:
            forge, token, login = known
            repos = forge.repos(host, token, login)
            if not all(hasattr(repos, name) for name in ("find_pull", "open_pull", "edit_pull")):
                raise UsageError(f"the forge {provider!r} cannot open pull requests")
            clients[(provider, host)] = repos
        return repos


def local_update_pull(
    settings: Settings,
    opener: ForgeOpener,
    reporter: Reporter,
    resolver: BlueprintResolver | None = None,
) -> UpdatePull:
    """The ``update --pr`` use case wired for a local caller (CLI, ``fleet update``).

    Each thread gets its own engine (the update runs in a scratch worktree, so it is
    not recorded as an update of the project; ``update-pr`` Activity rows are).
    """
    from datetime import UTC, datetime

    from codeforge.app.record import project_store
    from codeforge.app.update import lifecycle_engine, update
    from codeforge.app.update_pr import UpdatePull
    from codeforge.integrations.gitbranch import GitUpdateBranches
    from codeforge.integrations.gitpush import HttpsPusher

    engines = threading.local()

    def run(path: Path, options: UpdateOptions) -> UpdateResult:
        engine = getattr(engines, "engine", None)
        if engine is None:
            engine = engines.engine = lifecycle_engine(
                settings, reporter, record=False, resolver=resolver
            )
        return update(engine, path, options)

    return UpdatePull(
        run,
        HttpsPusher(),
        GitUpdateBranches(),
        opener,
        project_store(settings),
        lambda: datetime.now(UTC),
        opener.provider_for,
    )


def fleet_runner(
    settings: Settings,
    reporter: Reporter,
    opener: ForgeOpener | None,
    resolver: BlueprintResolver | None = None,
) -> Callable[[FleetEntry], FleetOutcome]:
    """One project's ``fleet update``: ``update --pr`` with ``opener``, else an update in place.

    Without --pr the update is recorded like ``codeforge update``; conflicts go in
    ``.rej`` files with --pr (the pull request names them), as markers otherwise.
    """
    from codeforge.app.fleet import FleetOutcome
    from codeforge.app.update import lifecycle_engine, update
    from codeforge.core.update import UpdateOptions

    if opener is not None:
        case = local_update_pull(settings, opener, reporter, resolver)
        statuses = {"opened": "pr-opened", "updated": "pr-updated", "unchanged": "pr-unchanged"}

        def with_pull(entry: FleetEntry) -> FleetOutcome:
            made = case.run(Path(entry.path), UpdateOptions(conflict="rej"))
            return FleetOutcome(
                entry.id, entry.name, entry.path, statuses.get(made.action, "up-to-date"),  # type: ignore[arg-type]
                made.from_version, made.to_version, made.pull.web_url if made.pull else None,
                made.conflicts,
            )  # fmt: skip

        return with_pull
    engines = threading.local()

    def in_place(entry: FleetEntry) -> FleetOutcome:
        engine = getattr(engines, "engine", None)
        if engine is None:
            engine = engines.engine = lifecycle_engine(
                settings, reporter, record=True, resolver=resolver
            )
        made = update(engine, Path(entry.path), UpdateOptions())
        return FleetOutcome(
            entry.id, entry.name, entry.path, "conflicts" if made.conflicts else "updated",
            made.from_version, made.to_version, None, tuple(made.conflicts),
        )  # fmt: skip

    return in_place


def fleet_checker(
    settings: Settings, reporter: Reporter, resolver: BlueprintResolver | None = None
) -> Callable[[Path], CheckResult]:
    """``check`` of one project folder for ``fleet status``, one engine per thread.

    The newest version is asked once per blueprint source (and dialect) in a fleet run:
    a project whose answers file records its version reuses it, so 50 projects of one
    git-hosted blueprint cost one fetch, not 50.
    """
    from codeforge.app.update import check, lifecycle_engine
    from codeforge.core.answersfile import read_answers_file
    from codeforge.core.transaction import recover
    from codeforge.errors import CodeForgeError

    engines = threading.local()
    newest: dict[tuple[str, str | None], CheckResult] = {}

    def run(path: Path) -> CheckResult:
        if not path.is_dir():
            raise NotFoundError("the project folder is gone", where=str(path))
        recovered = recover(path)  # as `check` does, before reading the answers
        try:
            recorded = read_answers_file(path)
        except CodeForgeError:
            recorded = None  # another tool's answers file: the full check reads it
        key = (recorded.source, recorded.dialect) if recorded is not None else None
        known = newest.get(key) if key is not None else None
        if recorded is not None and recorded.blueprint_version and known is not None:
            return dataclasses.replace(
                known, project=path, current=recorded.blueprint_version, recovered=recovered
            )
        engine = getattr(engines, "engine", None)
        if engine is None:
            engine = engines.engine = lifecycle_engine(
                settings, reporter, record=False, resolver=resolver
            )
        result = check(engine, path)
        if key is not None:
            newest[key] = result
        return dataclasses.replace(result, recovered=result.recovered or recovered)

    return run
