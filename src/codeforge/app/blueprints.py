"""The blueprints a server renders: built-ins and registered folders, never a path or URL.

``server_engine`` builds the engine one server render uses from two collaborators:
a :class:`ServerResolver` that resolves only built-in, plugin and registered
blueprints (no local paths from requests, never trusted, so no tasks) and reports a
registered blueprint's registered source (not the server's cache folder), and
:class:`PooledEnvironments`, which lends warm render environments from the
context's pool and takes them back when the run ends.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import CodeType

from codeforge.app.context import AppContext
from codeforge.app.local import shared_code
from codeforge.core.engine import SDLCEngine
from codeforge.core.source import ResolvedSource
from codeforge.errors import UsageError
from codeforge.integrations.git import GitVcs
from codeforge.sources import resolve_source
from codeforge.sources.resolver import SourceResolver
from codeforge.templates.environment import CodeForgeEnvironment, CompiledCache

Registered = dict[str, tuple[Path, str]]  # reference -> (folder, source label)


class WarmCompiledCache(CompiledCache):
    """The blueprint's compiled pack plus the code objects already loaded from it.

    The engine closes the pack after each run; a pooled environment keeps answering
    from memory (code objects are immutable, so renders may share them).
    """

    def __init__(self, path: Path | None) -> None:
        super().__init__(path)
        self._codes: dict[str, CodeType] = {}

    def get(self, key: str) -> CodeType | None:
        code = self._codes.get(key)
        if code is not None:
            self.hits += 1
            return code
        code = super().get(key)
        if code is not None:
            self._codes[key] = code
        return code

    def put(self, key: str, code: CodeType) -> None:
        super().put(key, code)
        self._codes[key] = code


class ServerResolver:
    """Built-ins, plugins and registered blueprints only: never a path, a URL or a ref.

    Never trusted (so no tasks), and registered blueprints report their registered
    source (not the server's cache folder).
    """

    def __init__(self, ctx: AppContext, registered: Registered) -> None:
        self.local = SourceResolver(ctx.settings)
        self.registered = registered

    def resolve(
        self, ref: str, *, allow_local: bool, trust: bool, vcs_ref: str | None, refresh: bool
    ) -> ResolvedSource:
        """A registered reference, else a built-in or plugin name."""
        if vcs_ref is not None:
            raise UsageError("the API does not take a git ref; register the blueprint version")
        if ref in self.registered:
            folder, source = self.registered[ref]
            return ResolvedSource(folder, source, False, "registered")
        return resolve_source(ref, allow_local=False, trust=False)

    def builtin_folders(self) -> list[Path]:
        """The built-in blueprints' folders."""
        return self.local.builtin_folders()

    def plugin_folders(self, warn: Callable[[str], None]) -> list[tuple[str, Path]]:
        """Installed plugin blueprints."""
        return self.local.plugin_folders(warn)

    def versions(self, source: str) -> list[tuple[str, str]]:
        """A git source's releases."""
        return self.local.versions(source)


class PooledEnvironments:
    """Warm environments lent from the context's pool, one run at a time.

    Environments with a dialect's own set-up (cookiecutter, copier) are made fresh:
    their options differ per template and per trust.
    """

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._pooled: dict[int, Path] = {}
        self._lookups: dict[int, tuple[int, int]] = {}

    def open(
        self,
        root: Path,
        cache_key: str,
        setup: Callable[[CodeForgeEnvironment], None] | None = None,
    ) -> CodeForgeEnvironment:
        """A warm environment for ``root`` (native) or a new one (with ``setup``)."""
        settings = self.ctx.settings
        if setup is not None:
            cache = CompiledCache.for_blueprint(settings.cache_dir, cache_key, shared=shared_code())
            env = CodeForgeEnvironment(root, settings.limits, cache)
            setup(env)
            return env

        def make() -> CodeForgeEnvironment:
            cache = WarmCompiledCache.for_blueprint(
                settings.cache_dir, cache_key, shared=shared_code()
            )
            return CodeForgeEnvironment(root, settings.limits, cache)

        env = self.ctx.borrow_environment(root, make)
        self._pooled[id(env)] = root
        self._lookups[id(env)] = _lookups(env)
        return env

    def close(self, env: CodeForgeEnvironment) -> None:
        """Close its compiled pack (a warm one answers from memory) and give it back."""
        hits, misses = _lookups(env)
        # a new environment (not from the pool) has counted nothing before it was lent
        seen_hits, seen_misses = self._lookups.pop(id(env), (0, 0))
        self.ctx.metrics.cache.labels("hit").inc(hits - seen_hits)
        self.ctx.metrics.cache.labels("miss").inc(misses - seen_misses)
        if env.code_cache is not None:
            env.code_cache.close()
        root = self._pooled.pop(id(env), None)
        if root is not None:
            self.ctx.return_environment(root, env)


def _lookups(env: CodeForgeEnvironment) -> tuple[int, int]:
    """The hits and misses its compiled-code cache has counted so far."""
    cache = env.code_cache
    return (cache.hits, cache.misses) if cache is not None else (0, 0)


def server_engine(ctx: AppContext, registered: Registered | None = None) -> SDLCEngine:
    """The engine for one server render: built-ins plus the ``registered`` folders."""
    return SDLCEngine(
        ctx.settings,
        resolver=ServerResolver(ctx, registered or {}),
        dialects=ctx.plugins.dialects(),
        vcs=GitVcs(),
        environments=PooledEnvironments(ctx),
        parse=ctx.parse,
        extensions=ctx.plugins.extensions(),
    )
