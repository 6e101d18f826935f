"""What one fleet run shares between its projects: each blueprint source resolved once.

Fifty projects of one blueprint ask the same two questions fifty times: "the
newest version of SOURCE" (with a fetch first) and "SOURCE at the tag the project
was made from". A git source answers each with a fetch, a ``rev-parse`` and a look
at its working copy: about fifteen git processes per project, a third of an update.
:class:`RunResolver` answers each (source, ref) once per run, and the
``(tag, commit)`` list of a source once; the folders it hands out are the git
cache's per-commit trees, which never change, so sharing them between the
concurrent updates is safe.

Within a run a source is therefore seen as it stood at its first fetch: a tag
pushed mid-run is picked up by the next run, as with any snapshot.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TypeVar

from codeforge.core.source import BlueprintResolver, ResolvedSource
from codeforge.settings import Settings

T = TypeVar("T")


class RunResolver:
    """:class:`codeforge.core.source.BlueprintResolver` that asks ``inner`` once per question."""

    def __init__(self, inner: BlueprintResolver) -> None:
        self._inner = inner
        self._resolved: dict[Hashable, tuple[ResolvedSource, bool]] = {}
        self._versions: dict[str, list[tuple[str, str]]] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()
        self.asked = 0  # how many questions reached ``inner`` (for tests and profiles)

    def _lock(self, key: Hashable) -> threading.Lock:
        """One lock per question: a second thread waits for the first's answer, not a fetch."""
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _ask(self, call: Callable[[], T]) -> T:
        self.asked += 1
        return call()

    def resolve(
        self,
        ref: str,
        *,
        allow_local: bool,
        trust: bool,
        vcs_ref: str | None,
        refresh: bool,
    ) -> ResolvedSource:
        """The first answer for (ref, vcs_ref); asked again only to refresh an unfetched one."""
        key = (ref, allow_local, trust, vcs_ref)
        with self._lock(key):
            known = self._resolved.get(key)
            if known is not None and (known[1] or not refresh):
                return known[0]
            found = self._ask(
                lambda: self._inner.resolve(
                    ref, allow_local=allow_local, trust=trust, vcs_ref=vcs_ref, refresh=refresh
                )
            )
            self._resolved[key] = (found, refresh)
            return found

    def versions(self, source: str) -> list[tuple[str, str]]:
        """Every release of ``source``, listed once per run."""
        with self._lock(("versions", source)):
            if source not in self._versions:
                self._versions[source] = self._ask(lambda: self._inner.versions(source))
            return list(self._versions[source])

    def builtin_folders(self) -> list[Path]:
        return self._inner.builtin_folders()

    def plugin_folders(self, warn: Callable[[str], None]) -> list[tuple[str, Path]]:
        return self._inner.plugin_folders(warn)


def run_resolver(settings: Settings) -> RunResolver:
    """A fresh memo over every source (built-ins, folders, git, plugins), for one fleet run."""
    from codeforge.sources.resolver import SourceResolver

    return RunResolver(SourceResolver(settings))
