"""copier templates through CodeForge: byte-identical to copier's own output.

Each case runs the real copier (``run_copy``, a test dependency) and ``codeforge
init`` on the same template with the same answers, and compares every file (the
rendered answers file included), the folders and the executable bits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from codeforge.app.context import local_engine
from codeforge.core.postprocess import TaskError
from codeforge.errors import SecurityError, ValidationError
from codeforge.sources.dialects import load_blueprint
from compat.helpers import COPIER_CASES, assert_same_tree, fixture, run_codeforge, run_copier

CASES = COPIER_CASES


@pytest.mark.parametrize(("name", "data"), CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_output_is_byte_identical(name: str, data: dict[str, Any], tmp_path: Path) -> None:
    template = fixture(name, tmp_path)
    reference = run_copier(template, tmp_path / "copier" / "proj", data)
    ours, _ = run_codeforge(template, tmp_path / "codeforge", data)
    assert assert_same_tree(reference, ours) >= 3


def test_basic_fixture_exercises_the_features(tmp_path: Path) -> None:
    """Guards the differential test: the fixture really covers what it claims."""
    template = fixture("cp-basic", tmp_path)
    ours, result = run_codeforge(template, tmp_path / "out", {"use_docker": False})
    answers = yaml.safe_load((ours / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == str(template)
    assert answers["workers"] == 4 and answers["ratio"] == 0.5  # typed, default rendered
    assert "api_token" not in answers  # secret
    assert "db_password" not in answers  # _secret_questions
    assert answers["python"] == "3.12" and answers["runtime"] == "none"
    assert "hidden_extra" not in answers and "docker_image" not in answers  # when: false
    assert answers["features"] == ["cli", "web"]  # multiselect
    assert answers["database"] == "sqlite"  # choices as a mapping
    assert "api_token" not in (ours / ".codeforge-answers.yml").read_text()
    assert "api_token" not in result.answers
    assert sorted(result.answers) == sorted(k for k in answers if not k.startswith("_"))
    readme = (ours / "README.md").read_text()
    assert "hidden=my_copier_project-hidden" in readme  # when false: default still renders
    assert "missing=[]" in readme  # copier's lenient undefined
    assert (ours / "raw.txt").read_text() == "{{ this is not rendered }}\n"  # no suffix: copied
    assert (ours / "both.txt").read_text() == "templated my_copier_project\n"
    assert not (ours / "Dockerfile").exists() and not (ours / "docker-compose.yml").exists()
    assert not (ours / "old.bak").exists() and not (ours / "notes").exists()  # _exclude
    assert (ours / "crlf.txt").read_bytes() == b"line my_copier_project\nline two\n"


def test_validator_message_is_the_error(tmp_path: Path) -> None:
    template = fixture("cp-basic", tmp_path)
    with pytest.raises(ValueError, match="must be a Python identifier"):
        run_copier(template, tmp_path / "copier" / "p", {"project_slug": "Not Valid"})
    with pytest.raises(ValidationError, match="must be a Python identifier") as err:
        run_codeforge(template, tmp_path / "cf", {"project_slug": "Not Valid"})
    assert err.value.variable == "project_slug"
    assert not (tmp_path / "cf").exists()


@pytest.mark.parametrize(
    ("data", "copier_says", "codeforge_says"),
    [
        ({"license": "BSD"}, "Invalid choice", "'BSD' is not in"),
        ({"workers": "many"}, "invalid literal for int", "not a valid int"),
        ({"features": ["api", "desktop"]}, "Invalid choice", "'desktop' is not in"),
        ({"python": "2.7"}, "too old", "too old"),
        ({"runtime": "docker", "use_docker": False}, "Invalid choice", "'docker' is not in"),
    ],
)
def test_bad_answers_are_refused(
    data: dict[str, Any], copier_says: str, codeforge_says: str, tmp_path: Path
) -> None:
    template = fixture("cp-basic", tmp_path)
    with pytest.raises(ValueError, match=copier_says):
        run_copier(template, tmp_path / "copier" / "p", data)
    with pytest.raises(ValidationError, match=codeforge_says):
        run_codeforge(template, tmp_path / "cf", data)


def test_show_maps_question_types(tmp_path: Path) -> None:
    bp = load_blueprint(fixture("cp-basic", tmp_path))
    types = {v.name: v.type for v in bp.variables}
    assert types["workers"] == "int" and types["ratio"] == "float"
    assert types["use_docker"] == "bool" and types["api_token"] == "secret"
    assert types["license"] == "choice" and types["features"] == "multichoice"
    assert types["extra"] == "dict" and types["count_shorthand"] == "int"
    docker = bp.variable("docker_image")
    assert docker is not None and docker.when == "{{ use_docker }}"


# -- deliberate differences ---------------------------------------------------------------


def test_unknown_names_are_errors(tmp_path: Path) -> None:
    """copier accepts any --data name and passes it to the templates; CodeForge refuses
    names the template does not ask, so a typo cannot go unnoticed."""
    template = fixture("cp-basic", tmp_path)
    run_copier(template, tmp_path / "copier" / "p", {"projct_name": "x"})
    with pytest.raises(ValidationError, match="unknown variable: projct_name"):
        run_codeforge(template, tmp_path / "cf", {"projct_name": "x"})


def test_tasks_need_trust(tmp_path: Path) -> None:
    """copier runs tasks with --trust/unsafe only; so does CodeForge, with an error that
    names them rather than a project silently missing their work."""
    template = fixture("cp-tasks", tmp_path)
    with pytest.raises(SecurityError, match="_tasks") as err:
        run_codeforge(template, tmp_path / "cf", trust=False)
    assert "--trust" in (err.value.hint or "")
    assert not (tmp_path / "cf").exists()


def test_shell_tasks_are_refused(tmp_path: Path) -> None:
    """copier runs a string task through the shell, with answers spliced into it;
    CodeForge never does (threat model, surface 6): it splits a plain command into
    arguments itself and refuses shell syntax, naming the task."""
    template = fixture("cp-tasks", tmp_path)
    config = template / "copier.yml"
    config.write_text(
        config.read_text().replace('"touch created-{{ name }}.txt"', '"echo hi > x.txt"')
    )
    reference = run_copier(template, tmp_path / "copier" / "p")
    assert (reference / "x.txt").read_text() == "hi\n"
    with pytest.raises(TaskError, match=r"_tasks\[0\].*shell syntax"):
        run_codeforge(template, tmp_path / "cf")
    assert not (tmp_path / "cf" / "proj").exists()


def test_sandbox_escape_is_refused(tmp_path: Path) -> None:
    template = tmp_path / "evil"
    template.mkdir()
    (template / "copier.yml").write_text("x: 1\n")
    (template / "a.txt.jinja").write_text("{{ x.__class__.__mro__[1].__subclasses__() }}\n")
    from codeforge.errors import TemplateError

    with pytest.raises(TemplateError):
        run_codeforge(template, tmp_path / "cf")
    assert not (tmp_path / "cf" / "proj").exists()


def test_path_escape_is_refused(tmp_path: Path) -> None:
    template = tmp_path / "evil"
    template.mkdir()
    (template / "copier.yml").write_text("where: ..\n")
    (template / "{{ where }}").mkdir()
    (template / "{{ where }}" / "out.txt").write_text("x\n")
    with pytest.raises(Exception, match="forbidden"):  # copier refuses too
        run_copier(template, tmp_path / "copier" / "p")
    with pytest.raises(SecurityError):
        run_codeforge(template, tmp_path / "cf")
    assert not (tmp_path / "cf" / "out.txt").exists()


def test_unknown_setting_names_the_line(tmp_path: Path) -> None:
    template = tmp_path / "bad"
    template.mkdir()
    (template / "copier.yml").write_text("name: x\n_external_data:\n  a: b.yml\n")
    from codeforge.errors import BlueprintError

    with pytest.raises(BlueprintError, match="_external_data: unknown or unsupported") as err:
        load_blueprint(template)
    assert err.value.where == "copier.yml:2"


def test_migrations_are_kept_for_update(tmp_path: Path) -> None:
    bp = load_blueprint(fixture("cp-tasks", tmp_path))
    assert bp.compat is not None
    assert bp.compat.raw_migrations[0]["version"] == "2.0.0"


def test_migrations_map_onto_codeforge_migrations(tmp_path: Path) -> None:
    """Migrations that keep their meaning become CodeForge migrations (run by `codeforge
    update` for trusted sources); ones that need copier's own variables or a shell stay
    raw, and update refuses to skip them silently."""
    template = tmp_path / "migrating"
    template.mkdir()
    (template / "copier.yml").write_text(
        "name: x\n"
        "_migrations:\n"
        "  - version: 1.1.0\n"
        "    command: [python3, -c, \"print('after')\"]\n"
        "  - version: 1.1.0\n"
        "    command: touch before.txt\n"
        "    when: '{{ _stage == \"before\" }}'\n"
        "  - version: 2.0.0\n"
        "    before: [[echo, one]]\n"
        "    after: ['echo two {{ name }}']\n"
        "  - version: 3.0.0\n"
        '    command: "{{ _copier_python }} migrate.py"\n'
        "  - version: 4.0.0\n"
        "    command: rm -rf old && echo done\n"
    )
    bp = load_blueprint(template)
    assert bp.compat is not None
    mapped = {m.version: m for m in bp.migrations}
    assert sorted(mapped) == ["1.1.0", "2.0.0"]
    assert [t.command for t in mapped["1.1.0"].after] == [("python3", "-c", "print('after')")]
    assert [t.command for t in mapped["1.1.0"].before] == [("touch", "before.txt")]
    assert [t.command for t in mapped["2.0.0"].before] == [("echo", "one")]
    assert [t.command for t in mapped["2.0.0"].after] == [("echo", "two", "{{ name }}")]
    assert [m["version"] for m in bp.compat.raw_migrations] == ["3.0.0", "4.0.0"]


def test_skip_if_exists_keeps_the_existing_file(tmp_path: Path) -> None:
    """Into an existing folder (copier: overwrite; CodeForge: --force), `_skip_if_exists`
    files already there are kept, the rest written, and nothing else is touched."""
    template = fixture("cp-basic", tmp_path)
    trees = {}
    for tool in ("copier", "codeforge"):
        dest = tmp_path / tool / "proj"
        dest.mkdir(parents=True)
        (dest / "local-settings.toml").write_text("mine = true\n")
        (dest / "README.md").write_text("old readme\n")
        (dest / "unrelated.txt").write_text("keep me\n")
        trees[tool] = dest
    import copier

    copier.run_copy(
        str(template), str(trees["copier"]), defaults=True, unsafe=True, quiet=True, overwrite=True
    )

    local_engine().create_project(
        str(template), "proj", output_dir=tmp_path / "codeforge", git=False, force=True
    )
    assert (trees["codeforge"] / "local-settings.toml").read_text() == "mine = true\n"
    assert (trees["codeforge"] / "unrelated.txt").read_text() == "keep me\n"
    assert_same_tree(trees["copier"], trees["codeforge"])
