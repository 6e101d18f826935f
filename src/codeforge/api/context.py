"""Per-app objects routes reach through ``request.app.state.ctx``: config, DB, engine, metrics.

Nothing here is request state: two servers on one database behave as one. The
blueprint cache only memoises parsed definitions keyed by their files' identity.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import CodeType
from typing import Any, Final

from sqlalchemy.orm import Session, sessionmaker

from codeforge.api.caches import AuthListener, KeyCache, TtlValue
from codeforge.api.config import ApiConfig
from codeforge.api.metrics import Metrics
from codeforge.core.engine import LoadedBlueprint, SDLCEngine
from codeforge.core.plan import RenderPlan
from codeforge.core.settings import Settings
from codeforge.sources import ResolvedSource
from codeforge.templates.environment import CodeForgeEnvironment, CompiledCache
from codeforge.templates.loader import load_blueprint
from codeforge.templates.schema import Blueprint


@dataclasses.dataclass
class AppContext:
    settings: Settings
    config: ApiConfig
    factory: sessionmaker[Session]
    metrics: Metrics
    _blueprints: dict[tuple[str, int, int], Blueprint] = dataclasses.field(default_factory=dict)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    keys: KeyCache = dataclasses.field(init=False)
    catalog_cache: TtlValue[Any] | None = None  # codeforge.api.catalog.Snapshot
    # Warm render environments (parsed templates, open compiled pack) per template
    # root. Each is lent to one request at a time: its render budget is never shared.
    _envs: dict[str, list[CodeForgeEnvironment]] = dataclasses.field(default_factory=dict)

    render_slots: threading.BoundedSemaphore = dataclasses.field(init=False)
    auth_listener: AuthListener | None = None

    def __post_init__(self) -> None:
        self.keys = KeyCache(self.config.key_cache_seconds)
        # Renders are CPU-bound Python: one at a time per process finishes each
        # sooner than many interleaving under the GIL (a shorter latency tail).
        self.render_slots = threading.BoundedSemaphore(max(1, self.config.render_threads))

    def start_auth_listener(self) -> AuthListener | None:
        """On PostgreSQL (with the key cache on), listen for revocations; None otherwise."""
        from codeforge.db.engine import parse_url

        if self.config.key_cache_seconds <= 0:
            return None
        if parse_url(self.config.database_url).get_backend_name() != "postgresql":
            return None
        self.auth_listener = AuthListener(self.config.database_url, self.keys).start()
        return self.auth_listener

    @property
    def lock(self) -> threading.Lock:
        return self._lock

    def borrow_environment(
        self, root: Path, make: Callable[[], CodeForgeEnvironment]
    ) -> CodeForgeEnvironment:
        with self._lock:
            pool = self._envs.get(str(root))
            if pool:
                return pool.pop()
        return make()

    def return_environment(self, root: Path, env: CodeForgeEnvironment) -> None:
        with self._lock:
            pool = self._envs.setdefault(str(root), [])
            if len(pool) < MAX_WARM_ENVIRONMENTS:
                pool.append(env)

    def parse(self, folder: Path) -> Blueprint:
        """Parse the blueprint in ``folder``, memoised on its definition file's mtime and size."""
        key: tuple[str, int, int] = (str(folder), 0, 0)
        for name in ("blueprint.yaml", "blueprint.yml", "blueprint.toml"):
            path = folder / name
            try:
                st = path.stat()
            except OSError:
                continue
            key = (str(path), st.st_mtime_ns, st.st_size)
            break
        with self._lock:
            cached = self._blueprints.get(key)
        if cached is not None:
            return cached
        bp = load_blueprint(folder)
        with self._lock:
            self._blueprints[key] = bp
        return bp

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads only (on SQLite: no write lock)."""
        from codeforge.db.engine import READ_ONLY

        with self.factory() as session:
            session.connection(execution_options=READ_ONLY)
            yield session

    def engine(self, registered: dict[str, tuple[Path, str]] | None = None) -> ApiEngine:
        return ApiEngine(self, registered or {})


MAX_WARM_ENVIRONMENTS: Final = 8


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
    """The engine as the API uses it: built-ins and registered blueprints only.

    No local paths from requests, never trusted (so no tasks), and registered
    blueprints report their registered source (not the server's cache folder).
    """

    def __init__(self, ctx: AppContext, registered: dict[str, tuple[Path, str]]) -> None:
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
            from codeforge.core.errors import UsageError

            raise UsageError("the API does not take a git ref; register the blueprint version")
        if ref in self.registered:
            folder, source = self.registered[ref]
            return LoadedBlueprint(
                self.ctx.parse(folder), ResolvedSource(folder, source, False, "registered")
            )
        from codeforge.sources import resolve_source

        resolved = resolve_source(ref, allow_local=False, trust=False)
        return LoadedBlueprint(self.ctx.parse(resolved.path), resolved)
