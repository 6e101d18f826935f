"""The project tree hash and its content-hash cache (keyed by size, mtime, inode, mode)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from codeforge.core.treehash import tree_hash


def write(path: Path, text: str, age: float = 60.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    then = time.time() - age
    os.utime(path, (then, then))


def test_the_cache_gives_the_same_hash_and_sees_every_change(tmp_path: Path) -> None:
    write(tmp_path / "a.py", "print(1)\n")
    write(tmp_path / "pkg" / "b.txt", "bee\n")
    write(tmp_path / "dist" / "x.whl", "built")
    write(tmp_path / ".gitignore", "dist/\n")
    plain = tree_hash(tmp_path)
    cache: dict[str, list[Any]] = {}
    assert tree_hash(tmp_path, cache) == plain
    assert sorted(cache) == [".gitignore", "a.py", "pkg/b.txt"]  # ignored files are not read

    write(tmp_path / "a.py", "print(2)\n")  # same size, new mtime
    changed = tree_hash(tmp_path, cache)
    assert changed != plain and changed == tree_hash(tmp_path)
    (tmp_path / "pkg" / "b.txt").chmod(0o600)
    assert tree_hash(tmp_path, cache) == tree_hash(tmp_path) != changed
    (tmp_path / "pkg" / "b.txt").unlink()
    assert tree_hash(tmp_path, cache) == tree_hash(tmp_path)
    assert "pkg/b.txt" not in cache


def test_a_cached_hash_is_used_while_the_file_looks_unchanged(tmp_path: Path) -> None:
    write(tmp_path / "a.py", "print(1)\n")
    cache: dict[str, list[Any]] = {}
    first = tree_hash(tmp_path, cache)
    cache["a.py"][4] = "0" * 64  # what a stale entry would give: proof the file was not read
    assert tree_hash(tmp_path, cache) != first


def test_a_file_changed_just_now_is_not_cached(tmp_path: Path) -> None:
    write(tmp_path / "a.py", "print(1)\n", age=0)
    cache: dict[str, list[Any]] = {}
    tree_hash(tmp_path, cache)
    assert cache == {}  # its mtime could hide a second change within the same tick
