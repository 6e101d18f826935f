"""Surface 1: templates render in a sandbox over plain data; includes stay in the root."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from blueprint_factory import Link

from codeforge.core.engine import SDLCEngine
from codeforge.core.postprocess import plain
from codeforge.errors import SecurityError, TemplateError
from codeforge.settings import RenderLimits
from codeforge.templates.environment import CodeForgeEnvironment, RootLoader

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ project_name.__class__ }}",
    "{{ codeforge.__class__.__init__.__globals__ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ (1).__class__.__base__.__subclasses__() }}",
    "{{ ''.format.__globals__ }}",
    "{{ config }}",
    "{{ request }}",
    "{{ lipsum.__globals__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ range.__self__ }}",
    "{{ '{0.__class__}'.format('') }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_blocks_escapes(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path, source: str
) -> None:
    bp = blueprint({}, {"a.txt": "ok\n", "z.txt": "line\n" + source + "\n"})
    with pytest.raises(TemplateError) as info:
        engine.create_project(str(bp), "p", output_dir=out, git=False)
    assert info.value.where is not None and info.value.where.startswith("z.txt")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    "target", ["../../etc/passwd", "/etc/passwd", "..\\..\\etc\\passwd", "sub/../../x", ""]
)
def test_include_outside_the_root_is_refused(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path, target: str
) -> None:
    bp = blueprint({}, {"a.txt": f"{{% include {target!r} %}}", "sub/b.txt": "b"})
    with pytest.raises(SecurityError, match="leaves the template folder") as info:
        engine.create_project(str(bp), "p", output_dir=out, git=False)
    assert info.value.where == "a.txt"
    assert list(out.iterdir()) == []


def test_import_outside_the_root_is_refused(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint({}, {"a.txt": "{% import '../blueprint.yaml' as m %}x"})
    with pytest.raises(SecurityError, match="leaves the template folder"):
        engine.create_project(str(bp), "p", output_dir=out, git=False)


def test_include_inside_the_root_works(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    bp = blueprint(
        {"files": {"exclude": ["_partials/"]}},
        {
            "a.txt": "{% include '_partials/head.txt' %}{% from '_partials/m.txt' import hi %}{{ hi() }}",
            "_partials/head.txt": "head {{ project_name }}\n",
            "_partials/m.txt": "{% macro hi() %}hi{% endmacro %}",
        },
    )
    result = engine.create_project(str(bp), "p", output_dir=out, git=False)
    assert (result.destination / "a.txt").read_text() == "head p\nhi"
    assert not (result.destination / "_partials").exists()


def test_include_through_a_link_out_of_the_root_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    root = tmp_path / "template"
    root.mkdir()
    os.symlink(secret, root / "inc.txt")
    (root / "inner").mkdir()
    os.symlink(tmp_path, root / "inner" / "up")
    env = CodeForgeEnvironment(root, RenderLimits(), None)
    for name in ("inc.txt", "inner/up/secret.txt"):
        with pytest.raises(SecurityError, match="follows a link out of the template folder"):
            env.template_from_source(f"{{% include {name!r} %}}", "a.txt").render()
    loader = RootLoader(root)
    with pytest.raises(SecurityError):
        loader.get_source(env, "inc.txt")


def test_blueprint_with_link_include_writes_nothing(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    bp = blueprint(
        {}, {"a.txt": "{% include 'inc.txt' %}", "inc.txt": Link(str(tmp_path / "secret.txt"))}
    )
    with pytest.raises(SecurityError):
        engine.create_project(str(bp), "p", output_dir=out, git=False)
    assert list(out.iterdir()) == []


def test_render_context_holds_plain_data_only(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    # Jinja cannot list its context, so check `plain`, which the engine runs over it.
    context = {**engine.base_context("p"), "meta": {"a": [1, 2.5, True, None]}}
    assert plain(context) == context
    for bad in (Path("/"), engine.settings, os, object()):
        with pytest.raises(SecurityError, match="non-plain value"):
            plain({"x": [bad]})
    # And what the templates can see at the top is the answers plus project_name and codeforge.
    names = "{{ [project_name, codeforge.version, meta.a[1]] | to_json }}"
    bp2 = blueprint(
        {"variables": {"meta": {"type": "dict", "default": {"a": [1, 2]}}}}, {"n.txt": names}
    )
    result = engine.create_project(str(bp2), "p", output_dir=out, git=False)
    assert (result.destination / "n.txt").read_text().startswith('["p", "')
