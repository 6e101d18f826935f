"""Surface 3: links in templates stay inside the root; writes never follow a link out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from blueprint_factory import Link, snapshot

from codeforge.core.engine import SDLCEngine
from codeforge.errors import SecurityError


@pytest.mark.parametrize("target", ["/etc/hostname", "../../outside.txt", "../blueprint.yaml"])
def test_template_link_out_of_the_root_is_refused(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path, tmp_path: Path, target: str
) -> None:
    (tmp_path / "outside.txt").write_text("outside")
    bp = blueprint({}, {"a.txt": "a", "leak.txt": Link(target)})
    with pytest.raises(SecurityError, match="points outside the template folder") as info:
        engine.create_project(str(bp), "p", output_dir=out, git=False)
    assert info.value.where == "leak.txt"
    assert list(out.iterdir()) == []


def test_link_to_a_folder_is_refused(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint({}, {"real/a.txt": "a", "alias": Link("real")})
    with pytest.raises(SecurityError, match="points to a folder"):
        engine.create_project(str(bp), "p", output_dir=out, git=False)


def test_link_inside_the_root_is_copied_as_a_file(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint({}, {"real.txt": "{{ project_name }}", "copy.txt": Link("real.txt")})
    result = engine.create_project(str(bp), "p", output_dir=out, git=False)
    copy = result.destination / "copy.txt"
    assert not copy.is_symlink() and copy.read_text() == "p"


@pytest.mark.parametrize("link_at", ["src", "src/app", "README.md"])
def test_force_write_never_follows_a_link_out_of_the_destination(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path, tmp_path: Path, link_at: str
) -> None:
    outside = tmp_path / "outside"
    (outside / "app").mkdir(parents=True)
    (outside / "app" / "main.py").write_text("precious")
    (outside / "README.md").write_text("precious readme")
    outside_before = snapshot(outside)

    dest = out / "p"
    dest.mkdir()
    (dest / "user.txt").write_text("mine")
    link_path = dest / link_at
    link_path.parent.mkdir(parents=True, exist_ok=True)
    target = {"src": outside, "src/app": outside / "app", "README.md": outside / "README.md"}[
        link_at
    ]
    link_path.symlink_to(target)
    dest_before = snapshot(dest)

    bp = blueprint({}, {"README.md": "new", "src/app/main.py": "new", "src/app/new.py": "new"})
    with pytest.raises(SecurityError, match="refusing to write through the link"):
        engine.create_project(str(bp), "p", output_dir=out, force=True, git=False)
    assert snapshot(outside) == outside_before
    assert snapshot(dest) == dest_before
    assert [p.name for p in out.iterdir()] == ["p"]


def test_destination_that_is_a_dangling_link(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path, tmp_path: Path
) -> None:
    (out / "p").symlink_to(tmp_path / "nowhere")
    with pytest.raises(SecurityError, match="dangling link"):
        engine.create_project(str(blueprint({}, {"a": "a"})), "p", output_dir=out, git=False)
    assert not (tmp_path / "nowhere").exists()


def test_generate_does_not_follow_links_in_the_project(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path, tmp_path: Path
) -> None:
    bp = blueprint(
        {"components": {"page": {"variables": {"name": "x"}}}},
        {"pages/index.txt": "i"},
        extra={"components/page/pages/{{ name }}.txt": "page"},
    )
    project = engine.create_project(str(bp), "p", output_dir=out, git=False).destination
    outside = tmp_path / "outside"
    outside.mkdir()
    (project / "pages" / "index.txt").unlink()
    (project / "pages").rmdir()
    (project / "pages").symlink_to(outside)
    with pytest.raises(SecurityError):
        engine.generate_component(project, "page", ["about"])
    assert list(outside.iterdir()) == []
