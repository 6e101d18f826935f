"""cookiecutter templates through CodeForge: byte-identical to cookiecutter's own output.

Each case runs the real cookiecutter (a test dependency) and ``codeforge init`` on
the same template with the same answers and compares every file's bytes, the file
list, the folders and the executable bits. Where CodeForge deliberately differs,
the test says so and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codeforge.core.postprocess import TaskError
from codeforge.errors import SecurityError, TemplateError, ValidationError
from codeforge.sources.dialects import load_blueprint
from compat.helpers import (
    COOKIECUTTER_CASES,
    assert_same_tree,
    fixture,
    run_codeforge,
    run_cookiecutter,
)

CASES = COOKIECUTTER_CASES


@pytest.mark.parametrize(("name", "extra"), CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_output_is_byte_identical(name: str, extra: dict[str, Any], tmp_path: Path) -> None:
    template = fixture(name, tmp_path)
    reference = run_cookiecutter(template, tmp_path / "cookiecutter", dict(extra) or None)
    ours, _ = run_codeforge(template, tmp_path / "codeforge", extra)
    assert assert_same_tree(reference, ours) >= 1


def test_basic_fixture_exercises_the_features(tmp_path: Path) -> None:
    """Guards the differential test: the fixture really covers what it claims."""
    template = fixture("cc-basic", tmp_path)
    ours, result = run_codeforge(template, tmp_path / "out")
    readme = (ours / "README.md").read_text()
    assert "Slug: my_great_project / package mygreatproject" in readme  # default over earlier
    assert "3 workers" in readme  # numbers become text, as in cookiecutter
    assert "Private: {{ stays raw }}" in readme  # _private is not rendered
    assert '"pythons": [' in readme  # jsonify on a dict variable
    assert "Slugified: my-great-project" in readme
    assert (ours / "page.html").read_text() == "<p>{{ not rendered }}</p>\n"  # _copy_without_render
    assert (ours / "static" / "{{cookiecutter.project_slug}}" / "app.js").is_file()
    assert (ours / "crlf.txt").read_bytes() == b"line one 0.1.0\r\nline two\r\n"
    assert (ours / "Dockerfile").is_file() and not (ours / ".github" / "ci.yml").exists()
    assert (ours / "template.txt.jinja").read_text() == "kept 0.1.0\n"  # no suffix handling
    assert result.answers["license"] == "MIT"
    assert not [k for k in result.answers if k.startswith("_")]  # private, not answers
    assert "_private" not in (ours / ".codeforge-answers.yml").read_text()


def test_show_lists_variables_with_prompts(tmp_path: Path) -> None:
    bp = load_blueprint(fixture("cc-basic", tmp_path))
    assert bp.compat is not None and bp.compat.format == "cookiecutter"
    assert [v.name for v in bp.variables] == [
        "project_name",
        "project_slug",
        "author",
        "version",
        "workers",
        "license",
        "use_docker",
        "use_ci",
        "ci",
    ]
    license_var = bp.variable("license")
    assert license_var is not None and license_var.type == "choice"
    assert license_var.help == "Which license?"
    assert bp.template_dir == "{{cookiecutter.project_slug}}"


# -- deliberate differences ---------------------------------------------------------------


def test_user_values_are_not_rendered(tmp_path: Path) -> None:
    """cookiecutter renders a value given on the command line as a template; CodeForge
    treats answers as data (threat model, surface 6: rendered exactly once)."""
    template = fixture("cc-basic", tmp_path)
    extra = {"author": "{{ 7 * 7 }}"}
    reference = run_cookiecutter(template, tmp_path / "cc", extra)
    ours, _ = run_codeforge(template, tmp_path / "cf", extra, name="p")
    assert "By 49, version" in (reference / "README.md").read_text()
    assert "By {{ 7 * 7 }}, version" in (ours / "README.md").read_text()


def test_unknown_names_are_errors(tmp_path: Path) -> None:
    """cookiecutter silently ignores extra_context keys it does not know; a typo in
    --data would then go unnoticed, so CodeForge refuses it and lists the names."""
    template = fixture("cc-basic", tmp_path)
    run_cookiecutter(template, tmp_path / "cc", {"projct_name": "x"})
    with pytest.raises(ValidationError, match="unknown variable: projct_name") as err:
        run_codeforge(template, tmp_path / "cf", {"projct_name": "x"})
    assert "project_name" in (err.value.hint or "")
    assert not (tmp_path / "cf").exists()


def test_bad_choice_is_refused_like_cookiecutter(tmp_path: Path) -> None:
    template = fixture("cc-basic", tmp_path)
    with pytest.raises(ValueError, match="provided for choice variable"):
        run_cookiecutter(template, tmp_path / "cc", {"license": "BSD"})
    with pytest.raises(ValidationError, match="not one of the choices"):
        run_codeforge(template, tmp_path / "cf", {"license": "BSD"})


def test_hooks_need_trust(tmp_path: Path) -> None:
    """cookiecutter runs hooks by default; CodeForge runs code from a template only for
    a trusted source. Skipping them would silently give a different project, so an
    untrusted run stops with an error that names the hooks and how to trust."""
    template = fixture("cc-hooks", tmp_path)
    with pytest.raises(SecurityError) as err:
        run_codeforge(template, tmp_path / "cf", trust=False)
    assert "hooks/pre_gen_project.py" in err.value.message
    assert "--trust" in (err.value.hint or "")
    assert not (tmp_path / "cf").exists()


def test_failing_pre_hook_writes_nothing(tmp_path: Path) -> None:
    template = fixture("cc-hooks", tmp_path)
    extra = {"project_slug": "not valid!"}
    from cookiecutter.exceptions import FailedHookException

    with pytest.raises(FailedHookException):
        run_cookiecutter(template, tmp_path / "cc", extra)
    with pytest.raises(TaskError, match=r"hooks/pre_gen_project.py failed \(exit status 1\)"):
        run_codeforge(template, tmp_path / "cf", extra)
    leftovers = list((tmp_path / "cf").iterdir()) if (tmp_path / "cf").exists() else []
    assert leftovers == []  # no project, no staging folder


def test_failing_post_hook_leaves_no_project(tmp_path: Path) -> None:
    template = fixture("cc-hooks", tmp_path)
    (template / "hooks" / "post_gen_project.py").write_text("raise SystemExit(3)\n")
    with pytest.raises(TaskError, match=r"post_gen_project\.py failed \(exit status 3\)"):
        run_codeforge(template, tmp_path / "cf")
    assert not (tmp_path / "cf").exists()  # no project, no staging folder, no parent made


def test_foreign_extension_needs_trust(tmp_path: Path) -> None:
    template = fixture("cc-extensions", tmp_path)
    with pytest.raises(SecurityError, match=r"local_extensions\.ShoutExtension") as err:
        run_codeforge(template, tmp_path / "cf", trust=False)
    assert "--trust" in (err.value.hint or "")


def test_missing_extension_is_a_clear_error(tmp_path: Path) -> None:
    template = _tiny_template(tmp_path, {"_extensions": ["not_installed_ext.Thing"]}, {"a": "b"})
    from codeforge.errors import BlueprintError

    with pytest.raises(BlueprintError, match="cannot load the Jinja extension 'not_installed_ext"):
        run_codeforge(template, tmp_path / "cf")


def _tiny_template(tmp_path: Path, variables: dict[str, Any], files: dict[str, str]) -> Path:
    import json

    root = tmp_path / "tiny"
    (root / "{{cookiecutter.slug}}").mkdir(parents=True)
    (root / "cookiecutter.json").write_text(json.dumps({"slug": "tiny", **variables}))
    for rel, text in files.items():
        target = root / "{{cookiecutter.slug}}" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def test_sandbox_escape_is_refused(tmp_path: Path) -> None:
    """cookiecutter's Jinja is not sandboxed, so a template can reach Python internals;
    CodeForge renders in its sandbox and stops with a template error."""
    template = _tiny_template(
        tmp_path, {}, {"x.txt": "{{ ''.__class__.__mro__[1].__subclasses__()|length }}\n"}
    )
    reference = run_cookiecutter(template, tmp_path / "cc")
    assert int((reference / "x.txt").read_text()) > 10
    with pytest.raises(TemplateError, match=r"sandbox"):
        run_codeforge(template, tmp_path / "cf")
    assert not (tmp_path / "cf" / "proj").exists()


def test_path_escape_is_refused(tmp_path: Path) -> None:
    """A file name rendering to ../something: cookiecutter writes outside its output
    folder; CodeForge refuses the path and writes nothing (threat model, surface 2)."""
    template = _tiny_template(
        tmp_path, {"target": "../escaped.txt"}, {"{{cookiecutter.target}}": "x\n"}
    )
    run_cookiecutter(template, tmp_path / "cc" / "out")
    assert (tmp_path / "cc" / "out" / "escaped.txt").is_file()
    with pytest.raises(SecurityError):
        run_codeforge(template, tmp_path / "cf" / "out")
    assert not (tmp_path / "cf" / "escaped.txt").exists()
    assert not (tmp_path / "cf" / "out" / "proj").exists()


def test_bad_definition_names_the_line(tmp_path: Path) -> None:
    template = _tiny_template(tmp_path, {}, {"a.txt": "a"})
    (template / "cookiecutter.json").write_text('{\n  "slug": "x",\n  "oops"\n}\n')
    from codeforge.errors import BlueprintError

    with pytest.raises(BlueprintError) as err:
        load_blueprint(template)
    assert err.value.where == "cookiecutter.json:4"


def test_without_root_folder_is_a_clear_error(tmp_path: Path) -> None:
    template = tmp_path / "flat"
    template.mkdir()
    (template / "cookiecutter.json").write_text('{"a": "b"}')
    from codeforge.errors import BlueprintError

    with pytest.raises(BlueprintError, match=r"no project folder"):
        load_blueprint(template)


def test_shell_hook_is_byte_identical(tmp_path: Path) -> None:
    """A `.sh` hook runs as an executable (its shebang), rendered first, as in cookiecutter."""
    template = _tiny_template(tmp_path, {"word": "hello"}, {"a.txt": "{{ cookiecutter.word }}\n"})
    hooks = template / "hooks"
    hooks.mkdir()
    (hooks / "post_gen_project.sh").write_text(
        "#!/bin/sh\nset -e\necho '{{ cookiecutter.word }} from sh' > from-hook.txt\nrm a.txt\n"
    )
    (hooks / "post_gen_project.sh~").write_text("#!/bin/sh\nexit 1\n")  # a backup: ignored
    reference = run_cookiecutter(template, tmp_path / "cc", {"word": "bye"})
    ours, _ = run_codeforge(template, tmp_path / "cf", {"word": "bye"})
    assert (ours / "from-hook.txt").read_text() == "bye from sh\n"
    assert_same_tree(reference, ours)
