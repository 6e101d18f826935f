"""The render plan: paths, dropped parts, suffixes, globs, binaries, loops, modes, newlines."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from blueprint_factory import Exec, snapshot

from codeforge.core.answersfile import ANSWERS_FILE
from codeforge.core.engine import SDLCEngine
from codeforge.errors import TemplateError

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR{{ not a template }}\xff\xfe"
LATIN1 = "café {{ x }}".encode("latin-1")

VARS = {
    "package_name": "{{ project_name | snake }}",
    "use_docker": {"type": "bool", "default": False},
    "models": {"type": "list", "default": ["user", "order"]},
}


def files_of(
    engine: SDLCEngine, bp: Path, data: dict[str, object] | None = None
) -> dict[str, bytes]:
    _, _, plan = engine.render_plan(str(bp), "My-App", data or {})
    return {f.path: f.content for f in plan.files if f.path != ANSWERS_FILE}


def test_path_parts_are_rendered(engine: SDLCEngine, blueprint: Callable[..., Path]) -> None:
    bp = blueprint(
        {"variables": VARS},
        {
            "src/{{ package_name }}/__init__.py": "name = '{{ package_name }}'\n",
            "{{ package_name | kebab }}-{{ 'x' }}.md": "doc",
        },
    )
    assert files_of(engine, bp) == {
        "src/my_app/__init__.py": b"name = 'my_app'\n",
        "my-app-x.md": b"doc",
    }


def test_a_part_that_renders_empty_drops_the_file_or_folder(
    engine: SDLCEngine, blueprint: Callable[..., Path]
) -> None:
    bp = blueprint(
        {"variables": VARS},
        {
            "{% if use_docker %}Dockerfile{% endif %}": "FROM python\n",
            "{% if use_docker %}docker{% endif %}/compose.yml": "services: {}\n",
            "{% if use_docker %}docker{% endif %}/sub/deep.txt": "x",
            "keep.txt": "k",
        },
    )
    assert set(files_of(engine, bp)) == {"keep.txt"}
    assert set(files_of(engine, bp, {"use_docker": True})) == {
        "keep.txt",
        "Dockerfile",
        "docker/compose.yml",
        "docker/sub/deep.txt",
    }


def test_jinja_suffix_is_stripped(engine: SDLCEngine, blueprint: Callable[..., Path]) -> None:
    bp = blueprint(
        {},
        {
            "pyproject.toml.jinja": "name = '{{ project_name }}'\n",
            "plain.txt": "{{ project_name }}",
            "only/.jinja": "kept as is",
        },
    )
    assert files_of(engine, bp) == {
        "pyproject.toml": b"name = 'My-App'\n",
        "plain.txt": b"My-App",
        "only/.jinja": b"kept as is",
    }


def test_exclude_and_default_excludes(engine: SDLCEngine, blueprint: Callable[..., Path]) -> None:
    bp = blueprint(
        {"files": {"exclude": ["*.tmp", "notes/**", "build/"]}},
        {
            "a.py": "a",
            "scratch.tmp": "x",
            "sub/also.tmp": "x",
            "notes/todo.md": "x",
            "build/out.txt": "x",
            "__pycache__/a.cpython-311.pyc": b"\x00",
            "mod.pyc": b"\x00",
            ".DS_Store": b"\x00",
            "notes.md": "kept",
        },
    )
    assert set(files_of(engine, bp)) == {"a.py", "notes.md"}


def test_copy_only_is_not_rendered(engine: SDLCEngine, blueprint: Callable[..., Path]) -> None:
    raw = "{{ this is not jinja }} {% neither %}"
    bp = blueprint(
        {"files": {"copy_only": ["static/**", "*.min.js"]}},
        {"static/app.js": raw, "lib/x.min.js": raw, "lib/y.js": "{{ project_name }}"},
    )
    files = files_of(engine, bp)
    assert files["static/app.js"] == raw.encode()
    assert files["lib/x.min.js"] == raw.encode()
    assert files["lib/y.js"] == b"My-App"


def test_binary_files_are_copied_byte_for_byte(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint({}, {"logo.png": PNG, "legacy.txt": LATIN1, "zero.txt": b"a\x00{{ b }}"})
    result = engine.create_project(str(bp), "p", output_dir=out, git=False)
    assert (result.destination / "logo.png").read_bytes() == PNG
    assert (result.destination / "legacy.txt").read_bytes() == LATIN1
    assert (result.destination / "zero.txt").read_bytes() == b"a\x00{{ b }}"


def test_loops_render_a_file_per_item(engine: SDLCEngine, blueprint: Callable[..., Path]) -> None:
    bp = blueprint(
        {
            "variables": VARS,
            "files": {
                "loops": [{"path": "models/{{ model }}.py", "over": "models", "as": "model"}]
            },
        },
        {
            "models/{{ model }}.py": "class {{ model | pascal }}: ...\n",
            "models/__init__.py": "{% for m in models %}from .{{ m }} import *\n{% endfor %}",
        },
    )
    files = files_of(engine, bp)
    assert files == {
        "models/user.py": b"class User: ...\n",
        "models/order.py": b"class Order: ...\n",
        "models/__init__.py": b"from .user import *\nfrom .order import *\n",
    }
    assert set(files_of(engine, bp, {"models": "invoice"})) == {
        "models/invoice.py",
        "models/__init__.py",
    }
    assert set(files_of(engine, bp, {"models": "[]"})) == {"models/__init__.py"}


def test_loop_variable_is_not_visible_to_other_files(
    engine: SDLCEngine, blueprint: Callable[..., Path]
) -> None:
    bp = blueprint(
        {
            "variables": VARS,
            "files": {"loops": [{"path": "m/{{ model }}.py", "over": "models", "as": "model"}]},
        },
        {"m/{{ model }}.py": "x", "other.txt": "{{ model }}"},
    )
    with pytest.raises(TemplateError, match="model") as info:
        files_of(engine, bp)
    assert info.value.where == "other.txt:1"


def test_loop_over_a_non_list_is_an_error(
    engine: SDLCEngine, blueprint: Callable[..., Path]
) -> None:
    bp = blueprint(
        {
            "variables": {"n": "x"},
            "files": {"loops": [{"path": "{{ i }}.py", "over": "n", "as": "i"}]},
        },
        {"{{ i }}.py": "x"},
    )
    with pytest.raises(TemplateError, match="the answer is not a list"):
        files_of(engine, bp)


def test_executable_bit_is_kept(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint(
        {}, {"scripts/run.sh": Exec("#!/bin/sh\necho {{ project_name }}\n"), "a.txt": "a"}
    )
    old_umask = os.umask(0o077)
    try:
        result = engine.create_project(str(bp), "p", output_dir=out, git=False)
    finally:
        os.umask(old_umask)
    run_mode = (result.destination / "scripts/run.sh").stat().st_mode
    assert run_mode & stat.S_IXUSR
    assert not (result.destination / "a.txt").stat().st_mode & stat.S_IXUSR
    assert (result.destination / "scripts/run.sh").read_text() == "#!/bin/sh\necho p\n"


def test_crlf_line_endings_are_kept(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint(
        {},
        {
            "win.bat": "@echo off\r\necho {{ project_name }}\r\n{% if true %}\r\nyes\r\n{% endif %}\r\n",
            "unix.sh": "a\n{{ project_name }}\n",
        },
    )
    result = engine.create_project(str(bp), "p", output_dir=out, git=False)
    win = (result.destination / "win.bat").read_bytes()
    assert win == b"@echo off\r\necho p\r\n\r\nyes\r\n\r\n"
    assert b"\n" not in win.replace(b"\r\n", b"")
    assert (result.destination / "unix.sh").read_bytes() == b"a\np\n"


def test_empty_folders_are_created(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint(
        {"variables": VARS},
        {
            "logs": None,
            "data/{{ package_name }}": None,
            "{% if use_docker %}docker{% endif %}": None,
            "f.txt": "f",
        },
    )
    result = engine.create_project(str(bp), "my app", output_dir=out, git=False)
    tree = snapshot(result.destination)
    assert tree["logs"] == "<dir>"
    assert tree["data/my_app"] == "<dir>"
    assert not any(k.startswith("docker") for k in tree)
    _, _, plan = engine.render_plan(str(bp), "my app")
    assert sorted(plan.directories) == ["data/my_app", "logs"]


def test_plan_is_sorted_and_holds_the_answers_file(
    engine: SDLCEngine, blueprint: Callable[..., Path]
) -> None:
    bp = blueprint({}, {"b.txt": "b", "a/z.txt": "z", "a.txt": "a"})
    loaded, answers, plan = engine.render_plan(str(bp), "p")
    paths = [f.path for f in plan.files]
    assert paths[:-1] == ["a.txt", "a/z.txt", "b.txt"]
    assert paths[-1] == ANSWERS_FILE
    assert loaded.blueprint.name == "tiny" and answers == {}
    assert plan.total_bytes == sum(len(f.content) for f in plan.files)


def test_template_answers_file_is_replaced_by_the_real_one(
    engine: SDLCEngine, blueprint: Callable[..., Path]
) -> None:
    bp = blueprint({}, {ANSWERS_FILE: "forged: true\n"})
    _, _, plan = engine.render_plan(str(bp), "p")
    (answers,) = [f for f in plan.files if f.path == ANSWERS_FILE]
    assert b"forged" not in answers.content
    assert b"name: tiny" in answers.content
