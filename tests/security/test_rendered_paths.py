"""Surface 2: every rendered path is checked; a bad one stops the run with nothing written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from codeforge.core.engine import SDLCEngine
from codeforge.errors import SecurityError, UsageError

BAD_NAMES = {
    "dotdot": "..",
    "dotdot-prefix": "../escape",
    "deep-dotdot": "a/../../escape",
    "posix-absolute": "/abs",
    "tmp-absolute": "/tmp/evil",
    "windows-drive": "C:\\x",
    "windows-drive-slash": "C:/x",
    "unc": "\\\\server\\share",
    "backslash-traversal": "..\\..\\x",
    "home": "~/x",
    "nul": "a\x00b",
    "newline": "a\nb",
    "escape-char": "a\x1bb",
    "del-char": "a\x7fb",
    "con": "CON",
    "aux-txt": "aux.txt",
    "com1": "com1.log",
    "lpt9": "sub/LPT9",
    "too-long-part": "x" * 256,
    "too-long-path": "/".join(["y" * 200] * 25),
    "dot": ".",
    "trailing-dot": "name.",
    "trailing-space": "name ",
    "colon": "a:b",
}


@pytest.mark.parametrize("name", list(BAD_NAMES.values()), ids=list(BAD_NAMES))
def test_bad_rendered_path_is_refused(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path, name: str
) -> None:
    bp = blueprint(
        {"variables": {"target": "x"}},
        {"a.txt": "first", "{{ target }}": "payload", "z.txt": "last"},
    )
    with pytest.raises(SecurityError, match="unsafe output path") as info:
        engine.create_project(str(bp), "p", output_dir=out, data={"target": name}, git=False)
    assert info.value.where == "{{ target }}"
    assert list(out.iterdir()) == []
    assert not (out.parent / "escape").exists() and not Path("/tmp/evil").exists()


def test_bad_rendered_folder_is_refused(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint({"variables": {"d": "x"}}, {"{{ d }}/f.txt": "f", "{{ d }}/empty": None})
    with pytest.raises(SecurityError):
        engine.create_project(str(bp), "p", output_dir=out, data={"d": ".."}, git=False)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("README.md", "readme.md"),
        ("Src/a.txt", "src/a.txt"),
        ("caf\u00e9.txt", "cafe\u0301.txt"),  # NFC and NFD spellings of one name
        ("\u212b.txt", "\u00c5.txt"),  # ANGSTROM SIGN vs A WITH RING
    ],
)
def test_two_sources_colliding_are_refused(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path, first: str, second: str
) -> None:
    bp = blueprint({}, {first: "1", second: "2"})
    with pytest.raises(SecurityError, match="both render to"):
        engine.create_project(str(bp), "p", output_dir=out, git=False)
    assert list(out.iterdir()) == []


def test_two_templates_rendering_to_one_path(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint({"variables": {"a": "x", "b": "x"}}, {"{{ a }}.txt": "1", "{{ b }}.txt": "2"})
    with pytest.raises(SecurityError, match=r"both render to 'x\.txt'"):
        engine.create_project(str(bp), "p", output_dir=out, git=False)


@pytest.mark.parametrize("name", ["..", "a/b", "/abs", "C:\\x", "a\x00", "CON", "", "x" * 101, "."])
def test_bad_project_names(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path, name: str
) -> None:
    with pytest.raises((UsageError, SecurityError)):
        engine.create_project(str(blueprint({}, {"a": "a"})), name, output_dir=out, git=False)
    assert list(out.iterdir()) == []
