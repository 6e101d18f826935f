"""`generate`: component files, anchored insertions, idempotence, conflicts, the answers file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from blueprint_factory import snapshot

from codeforge.core.answersfile import ANSWERS_FILE
from codeforge.core.engine import SDLCEngine
from codeforge.errors import ConflictError, NotFoundError, UsageError, ValidationError

DEFINITION = {
    "variables": {"package_name": "{{ project_name | snake }}"},
    "components": {
        "router": {
            "description": "A router",
            "variables": {
                "name": {"validators": [{"regex": "[a-z][a-z0-9_]*"}]},
                "prefix": {"default": "/{{ name }}"},
            },
            "insertions": [
                {
                    "file": "src/{{ package_name }}/main.py",
                    "anchor": "# codeforge:routers",
                    "content": "app.include_router({{ name }}.router)",
                },
                {
                    "file": "src/{{ package_name }}/main.py",
                    "anchor": "# codeforge:imports",
                    "content": "from . import {{ name }}",
                    "position": "before",
                },
            ],
        },
        "broken": {
            "variables": {"name": "x"},
            "insertions": [
                {"file": "src/{{ package_name }}/main.py", "anchor": "# nowhere", "content": "x"}
            ],
        },
    },
}
MAIN = "from fastapi import FastAPI\n    # codeforge:imports\napp = FastAPI()\n    # codeforge:routers\n"
TEMPLATE = {"src/{{ package_name }}/main.py": MAIN}
EXTRA = {
    "components/router/src/{{ package_name }}/{{ name }}.py": "router = '{{ prefix }}'\n",
    "components/broken/b.txt": "b",
}


@pytest.fixture
def project(engine: SDLCEngine, blueprint: Callable[..., Path], out: Path) -> Path:
    bp = blueprint(DEFINITION, TEMPLATE, extra=EXTRA)
    return engine.create_project(str(bp), "shop", output_dir=out, git=False).destination


def test_generate_adds_files_and_inserts_at_anchors(engine: SDLCEngine, project: Path) -> None:
    result = engine.generate_component(project, "router", ["orders"])
    assert result.added == ["src/shop/orders.py"]
    assert result.edited == ["src/shop/main.py"]
    assert result.answers == {"name": "orders", "prefix": "/orders"}
    assert (project / "src/shop/orders.py").read_text() == "router = '/orders'\n"
    assert (project / "src/shop/main.py").read_text() == (
        "from fastapi import FastAPI\n"
        "    from . import orders\n"
        "    # codeforge:imports\n"
        "app = FastAPI()\n"
        "    # codeforge:routers\n"
        "    app.include_router(orders.router)\n"
    )


def test_answers_file_records_the_component(engine: SDLCEngine, project: Path) -> None:
    engine.generate_component(project, "router", ["orders"], data={"prefix": "/v1/orders"})
    engine.generate_component(project, "router", ["users"])
    saved = yaml.safe_load((project / ANSWERS_FILE).read_text())
    assert saved["components"] == [
        {"kind": "router", "answers": {"name": "orders", "prefix": "/v1/orders"}},
        {"kind": "router", "answers": {"name": "users", "prefix": "/users"}},
    ]
    assert saved["answers"] == {"project_name": "shop", "package_name": "shop"}


def test_insertion_is_idempotent(engine: SDLCEngine, project: Path) -> None:
    engine.generate_component(project, "router", ["orders"])
    after_first = (project / "src/shop/main.py").read_text()
    (project / "src/shop/orders.py").unlink()
    result = engine.generate_component(project, "router", ["orders"])
    assert result.edited == []
    assert (project / "src/shop/main.py").read_text() == after_first
    assert after_first.count("include_router(orders.router)") == 1


def test_existing_file_is_a_conflict_without_force(engine: SDLCEngine, project: Path) -> None:
    engine.generate_component(project, "router", ["orders"])
    (project / "src/shop/orders.py").write_text("edited by hand\n")
    before = snapshot(project)
    with pytest.raises(ConflictError, match=r"src/shop/orders\.py already exists") as info:
        engine.generate_component(project, "router", ["orders"])
    assert info.value.hint is not None and "--force" in info.value.hint
    assert snapshot(project) == before
    engine.generate_component(project, "router", ["orders"], force=True)
    assert (project / "src/shop/orders.py").read_text() == "router = '/orders'\n"


def test_missing_anchor_is_an_error_and_nothing_changes(engine: SDLCEngine, project: Path) -> None:
    before = snapshot(project)
    with pytest.raises(ConflictError, match="anchor '# nowhere' not found") as info:
        engine.generate_component(project, "broken")
    assert info.value.where == "src/shop/main.py"
    assert snapshot(project) == before


def test_missing_target_file_is_an_error(engine: SDLCEngine, project: Path) -> None:
    (project / "src/shop/main.py").unlink()
    with pytest.raises(ConflictError, match="does not exist in the project"):
        engine.generate_component(project, "router", ["orders"])
    assert not (project / "src/shop/orders.py").exists()


def test_dry_run_changes_nothing(engine: SDLCEngine, project: Path) -> None:
    before = snapshot(project)
    result = engine.generate_component(project, "router", ["orders"], dry_run=True)
    assert snapshot(project) == before
    actions = {e.path: e.action for e in result.report}
    assert actions == {
        "src/shop/orders.py": "create",
        "src/shop/main.py": "overwrite",
        ANSWERS_FILE: "overwrite",
    }


def test_bad_arguments(engine: SDLCEngine, project: Path) -> None:
    with pytest.raises(NotFoundError, match="no component 'model'") as info:
        engine.generate_component(project, "model", ["x"])
    assert info.value.hint == "components: router, broken"
    with pytest.raises(UsageError, match="at most 2 argument"):
        engine.generate_component(project, "router", ["a", "b", "c"])
    with pytest.raises(UsageError, match="given both as an argument and with --data"):
        engine.generate_component(project, "router", ["a"], data={"name": "b"})
    with pytest.raises(ValidationError, match="'Bad-Name' does not match"):
        engine.generate_component(project, "router", ["Bad-Name"])


def test_outside_a_generated_project(engine: SDLCEngine, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="it was not made by CodeForge"):
        engine.generate_component(tmp_path, "router", ["x"])


def test_component_on_a_builtin_project(engine: SDLCEngine, out: Path) -> None:
    created = engine.create_project("web-fastapi", "shop-api", output_dir=out, git=False)
    result = engine.generate_component(created.destination, "router", ["orders"])
    assert result.added and all(p.endswith(".py") for p in result.added)
    for rel in result.edited:
        assert "orders" in (created.destination / rel).read_text()
