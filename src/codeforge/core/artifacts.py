"""What keeps job results: the artifact store protocol and the ids artifacts get.

The implementations are elsewhere (``codeforge.cache.artifacts.LocalArtifactStore``,
``codeforge.integrations.s3``) and come from plugins (``codeforge_artifact_stores``);
they import this module, never the composition root that wires them in. Artifact
ids are made here from a checked name, never from a path a caller supplied.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import BinaryIO, Final, Protocol

from codeforge.errors import NotFoundError, ValidationError

_SAFE_KEY: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
_SAFE_SUFFIX: Final = re.compile(r"^[a-z0-9]{1,10}$")


class ArtifactStore(Protocol):
    """Keeps job results by id; ``expire`` removes those older than a number of seconds."""

    def put(self, key: str, data: bytes | Iterable[bytes], suffix: str = "bin") -> str:
        """Store ``data`` under a name made from ``key``; returns the artifact id."""
        ...

    def open(self, artifact_id: str) -> BinaryIO:
        """The artifact's bytes as a binary file (NotFoundError when gone)."""
        ...

    def size(self, artifact_id: str) -> int:
        """The artifact's size in bytes (NotFoundError when gone)."""
        ...

    def delete(self, artifact_id: str) -> bool:
        """Remove the artifact; True when it existed."""
        ...

    def expire(self, older_than: float) -> int:
        """Remove artifacts written more than ``older_than`` seconds ago; returns how many."""
        ...

    def download_url(self, artifact_id: str, disposition: str) -> str | None:
        """A short-lived URL a client fetches the artifact from directly (sent with
        ``disposition`` as its Content-Disposition), or None: serve it through the API."""
        ...


# Makes the store for a URL (``s3://bucket/prefix``) with settings from ``environ``.
ArtifactStoreFactory = Callable[[str, Mapping[str, str]], ArtifactStore]


def artifact_id_for(key: str, suffix: str) -> str:
    """The id of the artifact of ``key`` (a job id) with ``suffix``; refuses unsafe names."""
    if not _SAFE_KEY.fullmatch(key):
        raise ValidationError(f"unsafe artifact key {key!r}", where="artifact")
    if not _SAFE_SUFFIX.fullmatch(suffix):
        raise ValidationError(f"unsafe artifact suffix {suffix!r}", where="artifact")
    return f"{key}.{suffix}"


def check_id(artifact_id: str) -> str:
    """``artifact_id`` when it is one ``artifact_id_for`` makes; NotFoundError otherwise."""
    key, dot, suffix = artifact_id.rpartition(".")
    if not dot:
        raise NotFoundError(f"no artifact {artifact_id!r}", where="artifact")
    try:
        return artifact_id_for(key, suffix)
    except ValidationError:
        raise NotFoundError(f"no artifact {artifact_id!r}", where="artifact") from None
