"""Every runtime dependency pyproject.toml declares is imported somewhere in src/codeforge."""

from __future__ import annotations

import ast
import re
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "codeforge"


def imported_top_levels() -> set[str]:
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        if (SRC / "templates" / "builtin") in path.parents:
            continue  # blueprint templates, not CodeForge's code
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def distribution_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def test_every_declared_dependency_is_imported() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    providers: dict[str, set[str]] = {}
    for module, dists in metadata.packages_distributions().items():
        for dist in dists:
            providers.setdefault(re.sub(r"[-_.]+", "-", dist).lower(), set()).add(module)
    imported = imported_top_levels()
    unused = [
        requirement
        for requirement in declared
        if not providers.get(distribution_name(requirement), set()) & imported
    ]
    assert not unused, f"declared in pyproject.toml but never imported: {unused}"
