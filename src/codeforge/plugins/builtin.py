"""CodeForge's own rendering features and local artifact store, registered as a default plugin."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from codeforge.plugins import hookimpl

if TYPE_CHECKING:
    from codeforge.core.artifacts import ArtifactStore, ArtifactStoreFactory
    from codeforge.core.pipelines import CIProvider
    from codeforge.core.postprocess import Formatter


@hookimpl
def codeforge_formatters() -> Mapping[str, Formatter]:
    """The formatters a blueprint can name: ``ruff-format`` and ``ruff-fix``."""
    # Imported when asked for: every CLI run builds the plugin manager, and the
    # rendering stack (Jinja) is not needed by `codeforge --help`.
    from codeforge.core.postprocess import BUILTIN_FORMATTERS

    return BUILTIN_FORMATTERS


def _local_store(url: str, env: Mapping[str, str]) -> ArtifactStore:
    from urllib.parse import unquote, urlsplit

    from codeforge.cache.artifacts import LocalArtifactStore
    from codeforge.errors import UsageError

    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        raise UsageError(
            f"{url!r} is not a file:///absolute/path URL", where="CODEFORGE_ARTIFACTS_URL"
        )
    return LocalArtifactStore(Path(unquote(parts.path)))


@hookimpl
def codeforge_artifact_stores() -> Mapping[str, ArtifactStoreFactory]:
    """The ``file`` scheme: artifacts in a local (or mounted) folder."""
    return {"file": _local_store}


@hookimpl
def codeforge_ci_providers() -> Sequence[CIProvider]:
    """The built-in CI providers: ``github``, ``gitlab`` and ``jenkins``."""
    from codeforge.core.pipelines import builtin_ci_providers

    return list(builtin_ci_providers().values())
