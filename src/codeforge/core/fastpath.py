"""An update's fast path: render only the template files that differ between two versions.

With equal answers and equal render rules, a template file with the same bytes
(and mode) in both versions renders to the same output in both, so it cannot
change anything in the project: only the differing files are rendered, from a
scratch copy of the blueprint holding just those. Not used when a template
includes or imports another (a changed partial would change unchanged files),
with links, formatters or a dialect that is not incremental, or when the
answers differ.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codeforge.core.blueprints import LoadedBlueprint
from codeforge.core.collaborators import Collaborators
from codeforge.core.dialect import DialectRun, dialect_of
from codeforge.core.generation import render
from codeforge.core.plan import RenderPlan
from codeforge.templates.schema import Blueprint

_INCLUDE_RE = re.compile(rb"\{%-?\s*(?:include|import|extends|from)\b")
FAST_PATH_MAX_CHANGED = 200

TreeIndex = tuple[dict[str, tuple[str, bool]], frozenset[str]]


def template_files(root: Path) -> TreeIndex | None:
    """Every file (content digest, executable) and empty folder under ``root``.

    None when a link or an include/import is seen: the fast path does not apply.
    """
    files: dict[str, tuple[str, bool]] = {}
    empty: set[str] = set()
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        with os.scandir(os.path.join(root, rel_dir) if rel_dir else root) as entries:
            listed = list(entries)
        if not listed and rel_dir:
            empty.add(rel_dir)
        for entry in listed:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if entry.is_symlink():
                return None
            if entry.is_dir():
                if entry.name != ".git":
                    stack.append(rel)
                continue
            with open(entry.path, "rb") as handle:
                data = handle.read()
            if b"{%" in data and _INCLUDE_RE.search(data):
                return None
            digest = hashlib.blake2b(data, digest_size=16).hexdigest()
            files[rel] = (digest, bool(entry.stat().st_mode & 0o111))
    return files, frozenset(empty)


def tree_index(parts: Collaborators, loaded: LoadedBlueprint) -> TreeIndex | None:
    """:func:`template_files`, kept in the cache for git checkouts (immutable per commit)."""
    root = loaded.blueprint.template_root
    commit = loaded.source.commit
    if loaded.source.kind != "git" or not commit:
        return template_files(root)
    key = hashlib.sha256(f"{commit}\0{root}".encode()).hexdigest()[:40]
    cache_file = parts.settings.cache_dir / "update-index" / f"{key}.json"
    try:
        data = json.loads(cache_file.read_bytes())
        if data is None:
            return None
        return (
            {rel: (str(d), bool(x)) for rel, (d, x) in data["files"].items()},
            frozenset(data["empty"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        pass
    index = template_files(root)
    stored = None if index is None else {"files": index[0], "empty": sorted(index[1])}
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(stored), encoding="utf-8")
        os.replace(tmp, cache_file)
    except OSError:
        pass  # the cache is an optimisation only
    return index


def _comparable(parts: Collaborators, base: Blueprint, theirs: Blueprint) -> bool:
    return (
        base.files == theirs.files
        and not base.formatters
        and not theirs.formatters
        and base.gitignore == theirs.gitignore
        and base.template_dir == theirs.template_dir
        and dialect_of(parts.dialects, base).incremental
        and dialect_of(parts.dialects, theirs).incremental
    )


def fast_render(
    parts: Collaborators,
    base: tuple[DialectRun, Mapping[str, Any]],
    theirs: tuple[DialectRun, Mapping[str, Any]],
) -> tuple[RenderPlan, RenderPlan] | None:
    """Both plans, rendered from the differing files only; None when that would not be exact."""
    (b_run, b_answers), (t_run, t_answers) = base, theirs
    if b_answers != t_answers or not _comparable(parts, b_run.blueprint, t_run.blueprint):
        return None
    b_tree = tree_index(parts, LoadedBlueprint(b_run.blueprint, b_run.source))
    t_tree = tree_index(parts, LoadedBlueprint(t_run.blueprint, t_run.source))
    if b_tree is None or t_tree is None or b_tree[1] != t_tree[1]:
        return None
    b_files, t_files = b_tree[0], t_tree[0]
    changed = {r for r in b_files.keys() | t_files.keys() if b_files.get(r) != t_files.get(r)}
    if len(changed) > FAST_PATH_MAX_CHANGED:
        return None
    plans = []
    with tempfile.TemporaryDirectory(prefix="codeforge-update-") as scratch:
        for label, (run, answers), files in (
            ("base", base, b_files),
            ("theirs", theirs, t_files),
        ):
            root = _scratch_copy(run.blueprint, Path(scratch, label), changed, files)
            if root is None:
                return None
            plans.append(_render_scratch(parts, run, answers, root))
    return plans[0], plans[1]


def _scratch_copy(
    bp: Blueprint, root: Path, changed: set[str], files: Mapping[str, tuple[str, bool]]
) -> Path | None:
    """``root`` holding just the ``changed`` template files (and the gitignore file)."""
    template_root = root / bp.template_dir
    template_root.mkdir(parents=True, exist_ok=True)
    for rel in changed:
        if rel in files:
            target = template_root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(bp.template_root / rel, target)
            if files[rel][1]:
                target.chmod(0o755)
    if bp.gitignore is not None:
        source = (bp.root / bp.gitignore).resolve()
        if not source.is_relative_to(bp.root) or not source.is_file():
            return None
        target = root / bp.gitignore
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return root


def _render_scratch(
    parts: Collaborators, run: DialectRun, answers: Mapping[str, Any], root: Path
) -> RenderPlan:
    bp = run.blueprint
    # The environment stays on the real template folder (its compiled-code cache).
    env = parts.environments.open(bp.template_root, str(bp.template_root))
    scratch_run = run._replace(blueprint=dataclasses.replace(bp, root=root), env=env)
    try:
        return render(parts, scratch_run, answers).plan
    finally:
        parts.environments.close(env)
