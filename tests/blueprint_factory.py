"""Build tiny blueprints in ``tmp_path`` and share fixtures across the core test folders.

``build_tree`` follows copier's ``build_file_tree``: a mapping of relative path to
content (``str`` written as UTF-8, ``bytes`` as is, :class:`Link` as a symlink,
``None`` as an empty folder). ``make_blueprint`` writes a definition (a dict
dumped as YAML or TOML, or raw text) plus a ``template/`` tree.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from codeforge.app.context import local_engine
from codeforge.core.engine import SDLCEngine, SilentReporter
from codeforge.settings import load_settings

ENV_TO_CLEAR = (
    "CODEFORGE_AUTHOR_NAME",
    "CODEFORGE_AUTHOR_EMAIL",
    "CODEFORGE_DATABASE_URL",
    "CODEFORGE_REDIS_URL",
    "CODEFORGE_DEBUG",
)


@dataclasses.dataclass(frozen=True)
class Link:
    """A symlink to ``target`` (as written, relative or absolute)."""

    target: str


@dataclasses.dataclass(frozen=True)
class Exec:
    """A file with the executable bit set."""

    content: str


Entry = str | bytes | Link | Exec | None


def build_tree(root: Path, spec: Mapping[str, Entry]) -> Path:
    """Create ``spec`` under ``root`` and return ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in spec.items():
        path = root / rel
        if content is None:
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            os.symlink(content.target, path)
        elif isinstance(content, Exec):
            path.write_text(content.content, encoding="utf-8")
            path.chmod(0o755)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            # newline="" keeps CRLF in the source exactly as given.
            with open(path, "w", encoding="utf-8", newline="") as handle:
                handle.write(content)
    return root


def dump_definition(definition: Mapping[str, Any], fmt: str) -> str:
    if fmt == "toml":
        import tomli_w

        return tomli_w.dumps(dict(definition))
    import yaml

    return str(yaml.safe_dump(dict(definition), sort_keys=False))


def make_blueprint(
    root: Path,
    definition: Mapping[str, Any] | str | None = None,
    files: Mapping[str, Entry] | None = None,
    *,
    fmt: str = "yaml",
    extra: Mapping[str, Entry] | None = None,
) -> Path:
    """A blueprint folder at ``root``; ``files`` go under ``template/``, ``extra`` at the root."""
    if definition is None:
        definition = {"name": "tiny", "version": "1.0.0"}
    elif isinstance(definition, Mapping):
        definition = {"name": "tiny", "version": "1.0.0", **definition}
    text = definition if isinstance(definition, str) else dump_definition(definition, fmt)
    build_tree(root, {f"blueprint.{fmt}": text})
    (root / "template").mkdir(exist_ok=True)
    build_tree(root / "template", files or {})
    if extra:
        build_tree(root, extra)
    return root


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file (bytes), link (``-> target``) and folder (``<dir>``) under ``root``."""
    result: dict[str, bytes | str] = {}
    if not root.exists():
        return result
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                result[rel] = "-> " + os.readlink(path)
            elif path.is_dir():
                result[rel] = "<dir>"
            else:
                result[rel] = path.read_bytes()
    return result


# -- fixtures (re-exported by each test folder's conftest) ------------------------------


@pytest.fixture(autouse=True)
def codeforge_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Config, data and cache folders in tmp_path; no CODEFORGE_* leaking in from outside."""
    dirs = {kind: tmp_path / f"_cf_{kind}" for kind in ("config", "data", "cache")}
    for kind, path in dirs.items():
        monkeypatch.setenv(f"CODEFORGE_{kind.upper()}_DIR", str(path))
    for name in ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    return dirs


@pytest.fixture
def engine(codeforge_dirs: dict[str, Path]) -> SDLCEngine:
    return local_engine(load_settings(), reporter=SilentReporter())


@pytest.fixture
def blueprint(tmp_path: Path) -> Callable[..., Path]:
    """``blueprint(definition, files, fmt=...)`` → a new blueprint folder in tmp_path."""
    counter = iter(range(10_000))

    def factory(
        definition: Mapping[str, Any] | str | None = None,
        files: Mapping[str, Entry] | None = None,
        **kwargs: Any,
    ) -> Path:
        return make_blueprint(tmp_path / f"bp{next(counter)}", definition, files, **kwargs)

    return factory


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """The output folder projects are created in."""
    path = tmp_path / "out"
    path.mkdir()
    return path
