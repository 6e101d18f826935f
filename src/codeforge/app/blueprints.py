"""The blueprints a server renders: built-ins and registered folders, never a path or URL.

``server_engine`` builds the engine one server render uses. It resolves only
built-in, plugin and registered blueprints (no local paths from requests, never
trusted, so no tasks), reports a registered blueprint's registered source (not the
server's cache folder), and borrows warm render environments from the context's
pool, giving them back when the render ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import CodeType
from typing import Any

from codeforge.app.context import AppContext
from codeforge.core.engine import LoadedBlueprint, SDLCEngine
from codeforge.core.errors import UsageError
from codeforge.core.plan import RenderPlan
from codeforge.sources import ResolvedSource, resolve_source
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


class ApiEngine(SDLCEngine):
    """The engine as servers (API, worker) use it: see the module docstring."""

    def __init__(self, ctx: AppContext, registered: Registered) -> None:
        super().__init__(ctx.settings)
        self.ctx = ctx
        self.registered = registered
        self._borrowed: list[tuple[Path, CodeForgeEnvironment]] = []

    def environment(self, root: Path) -> CodeForgeEnvironment:
        def make() -> CodeForgeEnvironment:
            cache = WarmCompiledCache.for_blueprint(self.settings.cache_dir, str(root))
            return CodeForgeEnvironment(root, self.settings.limits, cache)

        env = self.ctx.borrow_environment(root, make)
        self._borrowed.append((root, env))
        return env

    def render_plan(
        self,
        template: str,
        name: str,
        data: Mapping[str, Any] | None = None,
        *,
        allow_local: bool = True,
        vcs_ref: str | None = None,
        refresh: bool = False,
    ) -> tuple[LoadedBlueprint, dict[str, Any], RenderPlan]:
        try:
            return super().render_plan(
                template, name, data, allow_local=allow_local, vcs_ref=vcs_ref, refresh=refresh
            )
        finally:
            borrowed, self._borrowed = self._borrowed, []
            for root, env in borrowed:
                self.ctx.return_environment(root, env)

    def load_blueprint(
        self,
        ref: str,
        *,
        allow_local: bool = False,
        trust: bool = False,
        vcs_ref: str | None = None,
        refresh: bool = False,
    ) -> LoadedBlueprint:
        """Built-ins, plugins and registered blueprints only: never a path, a URL or a ref."""
        if vcs_ref is not None:
            raise UsageError("the API does not take a git ref; register the blueprint version")
        if ref in self.registered:
            folder, source = self.registered[ref]
            return LoadedBlueprint(
                self.ctx.parse(folder), ResolvedSource(folder, source, False, "registered")
            )
        resolved = resolve_source(ref, allow_local=False, trust=False)
        return LoadedBlueprint(self.ctx.parse(resolved.path), resolved)


def server_engine(ctx: AppContext, registered: Registered | None = None) -> ApiEngine:
    """The engine for one server render: built-ins plus the ``registered`` folders."""
    return ApiEngine(ctx, registered or {})
