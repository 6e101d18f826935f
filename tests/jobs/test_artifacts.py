"""The local artifact store: atomic writes, safe names, expiry, size accounting."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from codeforge.api.download import iter_file
from codeforge.cache.artifacts import LocalArtifactStore
from codeforge.errors import NotFoundError, StoreError, ValidationError


def test_put_open_size_delete(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "a")
    artifact = store.put("job1", b"hello", "zip")
    assert artifact == "job1.zip"
    assert store.open(artifact).read() == b"hello"
    assert store.size(artifact) == 5
    assert store.usage() == (1, 5)
    # A retried job replaces its own artifact; chunks work like bytes.
    assert store.put("job1", iter([b"ab", b"cd"]), "zip") == artifact
    assert b"".join(iter_file(store.open(artifact))) == b"abcd"
    assert store.delete(artifact) is True
    assert store.delete(artifact) is False
    with pytest.raises(NotFoundError, match="expired or was removed"):
        store.open(artifact)


@pytest.mark.parametrize("key", ["../x", "a/b", "", ".hidden", "x" * 101, "a\x00b", "ab\n"])
def test_unsafe_keys_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValidationError, match="unsafe artifact key"):
        LocalArtifactStore(tmp_path).put(key, b"x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("artifact", ["../etc/passwd", "x", "/abs.zip", "a.ZIP/..", ".tmp-1.bin"])
def test_unsafe_ids_are_not_found(tmp_path: Path, artifact: str) -> None:
    with pytest.raises(NotFoundError):
        LocalArtifactStore(tmp_path).open(artifact)


def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "a")
    store.put("job", b"old", "zip")

    def chunks() -> object:
        yield b"partial"
        raise RuntimeError("the producer broke")

    with pytest.raises(RuntimeError):
        store.put("job", chunks(), "zip")  # type: ignore[arg-type]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["job.zip"]
    assert store.open("job.zip").read() == b"old"


def test_unwritable_root_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot write the artifact store"):
        LocalArtifactStore(blocker / "a").put("job", b"x")


def test_expire_removes_only_old_files(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path)
    old = store.put("old", b"1")
    new = store.put("new", b"2")
    past = time.time() - 100
    os.utime(tmp_path / old, (past, past))
    assert store.expire(50) == 1
    assert store.usage() == (1, 1)
    assert store.open(new).read() == b"2"
    assert LocalArtifactStore(tmp_path / "missing").expire(1) == 0
