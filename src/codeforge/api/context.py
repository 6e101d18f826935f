"""Per-app objects routes reach through ``request.app.state.ctx``: config, DB, engine, metrics.

Nothing here is request state: two servers on one database behave as one. The
blueprint cache only memoises parsed definitions keyed by their files' identity.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from codeforge.api.config import ApiConfig
from codeforge.api.metrics import Metrics
from codeforge.core.engine import LoadedBlueprint, SDLCEngine
from codeforge.core.settings import Settings
from codeforge.sources import ResolvedSource
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


class ApiEngine(SDLCEngine):
    """The engine as the API uses it: built-ins and registered blueprints only.

    No local paths from requests, never trusted (so no tasks), and registered
    blueprints report their registered source (not the server's cache folder).
    """

    def __init__(self, ctx: AppContext, registered: dict[str, tuple[Path, str]]) -> None:
        super().__init__(ctx.settings)
        self.ctx = ctx
        self.registered = registered

    def load_blueprint(
        self, ref: str, *, allow_local: bool = False, trust: bool = False
    ) -> LoadedBlueprint:
        if ref in self.registered:
            folder, source = self.registered[ref]
            return LoadedBlueprint(
                self.ctx.parse(folder), ResolvedSource(folder, source, False, "registered")
            )
        from codeforge.sources import resolve_source

        resolved = resolve_source(ref, allow_local=False, trust=False)
        return LoadedBlueprint(self.ctx.parse(resolved.path), resolved)
