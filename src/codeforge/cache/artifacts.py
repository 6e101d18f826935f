"""Where job results (zips, JSON) are kept until they expire.

``ArtifactStore`` (``codeforge.core.artifacts``) is the interface;
``LocalArtifactStore`` keeps each artifact in a folder (shared by every server and
worker of a deployment: the same machine, or a network mount); ``codeforge.integrations.s3`` keeps them in an S3 bucket. Stores
come from plugins (``codeforge_artifact_stores``), by URL scheme.

Local writes are atomic: bytes go to a temporary file in the same folder, are
flushed and fsynced, then renamed over the final name, so a reader never sees half
an artifact and a retried job simply replaces its own. Artifact ids come from
``codeforge.core.artifacts.artifact_id_for``, never from a path a caller supplied.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from codeforge.core.artifacts import artifact_id_for, check_id
from codeforge.errors import NotFoundError, StoreError


class LocalArtifactStore:
    """Artifacts as files in ``root`` (created on first write, mode 0700)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, artifact_id: str) -> Path:
        return self.root / check_id(artifact_id)

    def put(self, key: str, data: bytes | Iterable[bytes], suffix: str = "bin") -> str:
        artifact_id = artifact_id_for(key, suffix)
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.root)
        except OSError as exc:
            raise StoreError(
                f"cannot write the artifact store: {exc.strerror}", where=str(self.root)
            ) from exc
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in [data] if isinstance(data, bytes) else data:
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.root / artifact_id)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise StoreError(
                    f"cannot write the artifact {artifact_id}: {exc.strerror}",
                    where=str(self.root),
                ) from exc
            raise
        return artifact_id

    def open(self, artifact_id: str) -> BinaryIO:
        try:
            return self._path(artifact_id).open("rb")
        except FileNotFoundError:
            raise NotFoundError(
                f"the result {artifact_id} has expired or was removed", where="artifact"
            ) from None

    def size(self, artifact_id: str) -> int:
        try:
            return self._path(artifact_id).stat().st_size
        except FileNotFoundError:
            raise NotFoundError(
                f"the result {artifact_id} has expired or was removed", where="artifact"
            ) from None

    def delete(self, artifact_id: str) -> bool:
        try:
            self._path(artifact_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def download_url(self, artifact_id: str, disposition: str) -> str | None:
        return None  # a folder has no URL of its own: the API streams the file

    def _entries(self) -> Iterator[os.DirEntry[str]]:
        try:
            with os.scandir(self.root) as it:
                yield from it
        except FileNotFoundError:
            return

    def expire(self, older_than: float) -> int:
        cutoff = time.time() - older_than
        removed = 0
        for entry in self._entries():
            try:
                # Leftover temporary files of a crashed writer go too, once old.
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def usage(self) -> tuple[int, int]:
        """(number of artifacts, total bytes) in the store."""
        count = total = 0
        for entry in self._entries():
            try:
                if entry.is_file(follow_symlinks=False) and not entry.name.startswith(".tmp-"):
                    count += 1
                    total += entry.stat().st_size
            except FileNotFoundError:
                continue
        return count, total
