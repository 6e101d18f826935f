"""The composition root: the wiring of every adapter, built here and nowhere else.

``local_engine`` (defined in ``codeforge.app.local``, kept light) is the engine of the CLI, the library and the tests: every source,
git through the hardened wrapper, fresh render environments, what plugins
contribute, and the recorder the caller gives (``codeforge.app.record.local_recorder``
for the CLI).

``build_context`` makes the ``AppContext`` of a server process: the API
(``codeforge.api.app.create_app``), the job worker (``codeforge worker`` and plain
``rq worker`` processes) and the server tests share one wiring: settings, server
config, database sessions, metrics, the loaded plugins (whose job kinds the worker
runs and whose routers the API mounts), the artifact stores
(``codeforge.app.artifacts``: a local folder, or S3), the blueprint memo and the pool
of warm render environments (``codeforge.app.blueprints.server_engine``).

Imports stay light (SQLAlchemy and Prometheus load with ``build_context``): the CLI
builds its engine here on every run.

Nothing here is request state: two servers on one database behave as one. The
blueprint memo only remembers parsed definitions keyed by their files' identity.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from codeforge.app.artifacts import ArtifactStores, artifact_stores
from codeforge.app.config import ApiConfig, api_config
from codeforge.app.local import local_engine as local_engine
from codeforge.cache.memo import AuthListener, KeyCache, TtlValue
from codeforge.core.blueprints import load_folder
from codeforge.plugins.manager import Plugins, build_plugins
from codeforge.settings import Settings, load_settings
from codeforge.templates.environment import CodeForgeEnvironment
from codeforge.templates.schema import Blueprint

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from codeforge.app.metrics import Metrics

MAX_WARM_ENVIRONMENTS: Final = 8
_DEFINITION_FILES: Final = ("blueprint.yaml", "blueprint.yml", "blueprint.toml")


@dataclasses.dataclass
class AppContext:
    """Per-process collaborators of the use cases: config, database, metrics, warm caches."""

    settings: Settings
    config: ApiConfig
    factory: sessionmaker[Session]
    metrics: Metrics
    plugins: Plugins  # what installed plugins (and the built-in default plugins) contribute
    artifacts: ArtifactStores  # job results and registered blueprint archives
    _blueprints: dict[tuple[str, int, int], Blueprint] = dataclasses.field(default_factory=dict)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)
    keys: KeyCache = dataclasses.field(init=False)
    catalog_cache: TtlValue[Any] | None = None  # codeforge.app.catalog.Snapshot
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
        """A warm environment for ``root`` from the pool, or a new one from ``make``."""
        with self._lock:
            pool = self._envs.get(str(root))
            if pool:
                return pool.pop()
        return make()

    def return_environment(self, root: Path, env: CodeForgeEnvironment) -> None:
        """Give ``env`` back to the pool (dropped when the pool for ``root`` is full)."""
        with self._lock:
            pool = self._envs.setdefault(str(root), [])
            if len(pool) < MAX_WARM_ENVIRONMENTS:
                pool.append(env)

    def parse(self, folder: Path) -> Blueprint:
        """Parse the blueprint in ``folder``, memoised on its definition file's mtime and size."""
        key: tuple[str, int, int] = (str(folder), 0, 0)
        for name in _DEFINITION_FILES:
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
        bp = load_folder(self.plugins.dialects(), folder, None)
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


def build_context(
    settings: Settings | None = None,
    config: ApiConfig | None = None,
    *,
    migrate: bool = True,
    plugins: Plugins | None = None,
    artifacts: ArtifactStores | None = None,
) -> AppContext:
    """The context of a server process (API, worker, tests) on ``settings``' database.

    ``migrate`` creates or upgrades the schema first (the API and ``codeforge worker``
    do; a plain RQ worker process trusts the server that started before it).
    ``plugins`` defaults to the installed ones (``CODEFORGE_PLUGINS`` narrows them);
    ``artifacts`` to the stores ``CODEFORGE_ARTIFACTS_URL`` names (a local folder without it).
    """
    from codeforge.app.metrics import Metrics
    from codeforge.db.engine import session_factory
    from codeforge.db.migrate import ensure_schema

    settings = settings or load_settings()
    config = config or api_config(settings)
    plugins = plugins if plugins is not None else build_plugins()
    if artifacts is None:
        artifacts = artifact_stores(settings, plugins)
    if migrate:
        ensure_schema(config.database_url)
    return AppContext(
        settings=settings,
        config=config,
        factory=session_factory(config.database_url),
        metrics=Metrics.create(),
        plugins=plugins,
        artifacts=artifacts,
    )
