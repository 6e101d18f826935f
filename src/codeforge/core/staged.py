"""Run commands against a staged copy of a folder, then move the result in through a transaction.

Migration tasks are arbitrary commands: no plan says beforehand which files they
touch. So they never run in the project itself. The project is copied into the
staging tree of a :class:`~codeforge.core.transaction.Transaction`, the work
happens there, and every entry that ends up different (added, changed, retyped,
re-moded or removed) moves in through the journalled swap. A kill at any moment
therefore leaves the project as it was, or (after the commit mark) as it ends up.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

from codeforge.core.transaction import Recovery, Transaction


def run_staged(project: Path, operation: str, work: Callable[[Path], None]) -> Recovery | None:
    """Copy ``project`` aside, ``work(copy)``, then swap every difference in, all or nothing.

    Returns the interrupted earlier operation resolved first, if there was one.
    """
    with Transaction(project, operation) as txn:
        shutil.copytree(txn.root, txn.staging, symlinks=True, dirs_exist_ok=True)
        work(txn.staging)
        plan_differences(txn, "")
        txn.commit()
        return txn.recovered


def plan_differences(txn: Transaction, rel: str) -> None:
    """Put every entry under ``staging/rel`` that differs from ``root/rel``; remove the gone ones."""
    new = {e.name: e.stat(follow_symlinks=False) for e in os.scandir(txn.staging / rel)}
    old = {e.name: e.stat(follow_symlinks=False) for e in os.scandir(txn.root / rel)}
    for name in sorted(new):
        path = f"{rel}/{name}" if rel else name
        before, after = old.get(name), new[name]
        if before is not None and stat.S_ISDIR(before.st_mode) and stat.S_ISDIR(after.st_mode):
            plan_differences(txn, path)  # a folder on both sides: only its differences move
        elif before is None or not _same(txn.root / path, txn.staging / path, before, after):
            txn.put(path)
    for name in sorted(old.keys() - new.keys()):
        txn.remove(f"{rel}/{name}" if rel else name)


def _same(old: Path, new: Path, before: os.stat_result, after: os.stat_result) -> bool:
    if before.st_mode != after.st_mode:
        return False  # kind or permissions differ
    if stat.S_ISLNK(before.st_mode):
        return os.readlink(old) == os.readlink(new)
    if stat.S_ISREG(before.st_mode):
        return before.st_size == after.st_size and filecmp.cmp(old, new, shallow=False)
    return True  # anything else (a socket, a fifo) is left as it is
