"""Which artifact stores a server uses: chosen here, by the composition root, from the settings.

Without ``CODEFORGE_ARTIFACTS_URL`` (the embedded default) job results are files
in ``CODEFORGE_JOB_ARTIFACT_DIR`` (the data folder's ``artifacts``) and uploaded
blueprint archives stay in the database. With ``CODEFORGE_ARTIFACTS_URL=SCHEME://...``
the plugin that serves that scheme (``s3`` and ``file`` are built in) makes two
stores under it: ``results/`` for job results, which expire, and ``blueprints/``
for registered archives, which never do.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from codeforge.cache.artifacts import LocalArtifactStore
from codeforge.core.artifacts import ArtifactStore
from codeforge.errors import UsageError
from codeforge.plugins.manager import Plugins
from codeforge.settings import Settings

URL_VAR: Final = "CODEFORGE_ARTIFACTS_URL"
RESULTS: Final = "results"
BLUEPRINTS: Final = "blueprints"


@dataclasses.dataclass(frozen=True)
class ArtifactStores:
    """Where job results go, and where registered blueprint archives go (None: the database)."""

    results: ArtifactStore
    archives: ArtifactStore | None = None


def local_artifact_dir(settings: Settings, env: Mapping[str, str] | None = None) -> Path:
    """The embedded default's folder of job results."""
    env = os.environ if env is None else env
    return Path(env.get("CODEFORGE_JOB_ARTIFACT_DIR") or settings.data_dir / "artifacts")


def artifact_stores(
    settings: Settings, plugins: Plugins, env: Mapping[str, str] | None = None
) -> ArtifactStores:
    """The stores ``CODEFORGE_ARTIFACTS_URL`` names, or the embedded default's."""
    env = os.environ if env is None else env
    url = env.get(URL_VAR, "").strip()
    if not url:
        return ArtifactStores(LocalArtifactStore(local_artifact_dir(settings, env)))
    scheme, sep, _ = url.partition("://")
    factories = plugins.artifact_stores()
    factory = factories.get(scheme.lower()) if sep else None
    if factory is None:
        raise UsageError(
            f"no artifact store for {url!r}",
            where=URL_VAR,
            hint=f"schemes: {', '.join(sorted(factories))} (e.g. s3://bucket/prefix)",
        )
    base = url.rstrip("/")
    return ArtifactStores(factory(f"{base}/{RESULTS}", env), factory(f"{base}/{BLUEPRINTS}", env))
