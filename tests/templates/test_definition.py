"""Blueprint definitions: strict schema, errors with file and line, YAML limits, YAML == TOML."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from blueprint_factory import make_blueprint

from codeforge.errors import BlueprintError, NotFoundError
from codeforge.templates import definition
from codeforge.templates.loader import load_blueprint
from codeforge.templates.schema import MISSING, Blueprint, Variable
from codeforge.templates.sections import Validator

FORMATS = ("yaml", "toml")

# name -> (yaml text, toml text, expected line, message fragment)
BAD_DEFINITIONS = {
    "unknown top-level key": (
        "name: x\nversion: 1.0.0\ncolour: red\n",
        'name = "x"\nversion = "1.0.0"\ncolour = "red"\n',
        3,
        "colour: unknown key",
    ),
    "unknown variable type": (
        "name: x\nversion: 1.0.0\nvariables:\n  port:\n    type: integer\n",
        'name = "x"\nversion = "1.0.0"\n\n[variables.port]\ntype = "integer"\n',
        5,
        "variables.port.type: unknown type 'integer' (expected one of: str, int",
    ),
    "wrong type for tags": (
        "name: x\nversion: 1.0.0\ntags: web\n",
        'name = "x"\nversion = "1.0.0"\ntags = "web"\n',
        3,
        "tags: expected a list of strings, got a string",
    ),
    "unknown variable key": (
        "name: x\nversion: 1.0.0\nvariables:\n  a:\n    type: str\n    colour: 1\n",
        'name = "x"\nversion = "1.0.0"\n[variables.a]\ntype = "str"\n\ncolour = 1\n',
        6,
        "variables.a.colour: unknown key",
    ),
    "invalid validator regex": (
        "name: x\nversion: 1.0.0\nvariables:\n  a:\n    validators:\n      - regex: '(['\n",
        'name = "x"\nversion = "1.0.0"\n[variables.a]\n\n\nvalidators = [{regex = "(["}]\n',
        6,
        "invalid regular expression",
    ),
    "bad semantic version": (
        "name: x\n\n\nversion: one\n",
        'name = "x"\n\n\nversion = "one"\n',
        4,
        "'one' is not a valid semantic version",
    ),
    "bad blueprint name": (
        "\nname: Not Valid\nversion: 1.0.0\n",
        '\nname = "Not Valid"\nversion = "1.0.0"\n',
        2,
        "is not a valid blueprint name",
    ),
    "choices on a str": (
        "name: x\nversion: 1.0.0\nvariables:\n  a:\n    choices: [x]\n",
        'name = "x"\nversion = "1.0.0"\n[variables.a]\nchoices = ["x"]\n',
        None,  # per format: LINES
        "`choices` only applies to choice and multichoice",
    ),
    "unknown formatter": (
        "name: x\nversion: 1.0.0\nformatters:\n  - black\n",
        'name = "x"\nversion = "1.0.0"\nformatters = ["black"]\n',
        None,
        "unknown formatter 'black'",
    ),
    "required not a bool": (
        "name: x\nversion: 1.0.0\nvariables:\n  a:\n    required: 'no'\n",
        'name = "x"\nversion = "1.0.0"\n[variables.a]\nrequired = "no"\n',
        None,
        "variables.a.required: expected true or false, got a string",
    ),
}
LINES = {  # where the two formats differ in layout
    ("choices on a str", "yaml"): 5,
    ("choices on a str", "toml"): 4,
    ("unknown formatter", "yaml"): 4,
    ("unknown formatter", "toml"): 3,
    ("required not a bool", "yaml"): 5,
    ("required not a bool", "toml"): 4,
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("case", sorted(BAD_DEFINITIONS))
def test_invalid_definition_names_file_and_line(tmp_path: Path, case: str, fmt: str) -> None:
    yaml_text, toml_text, line, fragment = BAD_DEFINITIONS[case]
    line = LINES.get((case, fmt), line)
    root = make_blueprint(tmp_path / "bp", yaml_text if fmt == "yaml" else toml_text, fmt=fmt)
    with pytest.raises(BlueprintError) as info:
        load_blueprint(root)
    assert info.value.where == f"blueprint.{fmt}:{line}"
    assert fragment in info.value.message
    assert str(info.value).startswith(f"blueprint.{fmt}:{line}: ")


@pytest.mark.parametrize(
    ("fmt", "text", "where", "fragment"),
    [
        ("yaml", "name: x\nversion: 1.0.0\nname: y\n", "blueprint.yaml:3", "duplicate key 'name'"),
        (
            "yaml",
            "name: x\nversion: 1.0.0\nvariables:\n  a: 1\n  b: 2\n  a: 3\n",
            "blueprint.yaml:6",
            "duplicate key 'a' (first at line 4)",
        ),
        ("toml", 'name = "x"\nversion = "1.0.0"\nname = "y"\n', "blueprint.toml:3", "invalid TOML"),
        ("yaml", "name: x\nversion: 1.0.0\nvariables: [a, b\n", "blueprint.yaml:4", "invalid YAML"),
        ("yaml", "name: x\n  version: 1.0.0\n", "blueprint.yaml:2", "invalid YAML"),
        ("toml", 'name = "x"\nversion = \n', "blueprint.toml:2", "invalid TOML"),
        ("toml", 'name = "x"\n\n[variables\n', "blueprint.toml:3", "invalid TOML"),
    ],
)
def test_duplicate_keys_and_syntax_errors(
    tmp_path: Path, fmt: str, text: str, where: str, fragment: str
) -> None:
    root = make_blueprint(tmp_path / "bp", text, fmt=fmt)
    with pytest.raises(BlueprintError) as info:
        load_blueprint(root)
    assert info.value.where == where
    assert fragment in info.value.message
    assert "(at line" not in info.value.message  # the position moved into `where`


def test_missing_required_keys(tmp_path: Path) -> None:
    root = make_blueprint(tmp_path / "bp", "name: x\n")
    with pytest.raises(BlueprintError, match="missing required key `version`"):
        load_blueprint(root)


def test_empty_and_non_mapping_definitions(tmp_path: Path) -> None:
    with pytest.raises(BlueprintError, match="empty"):
        load_blueprint(make_blueprint(tmp_path / "a", "# nothing\n"))
    with pytest.raises(BlueprintError, match="mapping at the top level"):
        load_blueprint(make_blueprint(tmp_path / "b", "- a\n- b\n"))


def test_both_yaml_and_toml_is_an_error(tmp_path: Path) -> None:
    root = make_blueprint(tmp_path / "bp", {"description": "y"})
    (root / "blueprint.toml").write_text('name = "tiny"\nversion = "1.0.0"\n')
    with pytest.raises(BlueprintError, match="keep exactly one"):
        load_blueprint(root)


def test_folder_without_definition_is_not_found(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFoundError, match="holds no blueprint"):
        load_blueprint(tmp_path / "empty")
    with pytest.raises(NotFoundError, match="no blueprint folder"):
        load_blueprint(tmp_path / "missing")


def test_missing_template_folder(tmp_path: Path) -> None:
    root = make_blueprint(tmp_path / "bp", {"template_dir": "tpl"})
    with pytest.raises(BlueprintError, match="'tpl' does not exist"):
        load_blueprint(root)


def test_min_codeforge_version_in_the_future_is_refused(tmp_path: Path) -> None:
    root = make_blueprint(
        tmp_path / "bp", "name: x\nversion: 1.0.0\nmin_codeforge_version: 99.0.0\n"
    )
    with pytest.raises(BlueprintError) as info:
        load_blueprint(root)
    assert info.value.where == "blueprint.yaml:3"
    assert "needs CodeForge 99.0.0 or newer" in info.value.message


def test_not_utf8_definition(tmp_path: Path) -> None:
    root = make_blueprint(tmp_path / "bp")
    (root / "blueprint.yaml").write_bytes(b"name: x\nversion: 1.0.0\ndescription: \xff\xfe\n")
    with pytest.raises(BlueprintError, match="not UTF-8"):
        load_blueprint(root)


# -- YAML limits ----------------------------------------------------------------------


def _billion_laughs(levels: int, fan: int) -> str:
    lines = [
        "name: x",
        "version: 1.0.0",
        "variables:",
        "  v:",
        "    default:",
        '      a0: &a0 ["lol"]',
    ]
    for i in range(1, levels + 1):
        refs = ", ".join([f"*a{i - 1}"] * fan)
        lines.append(f"      a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    # 72 aliases (under the alias cap) that would expand to 9**8 values.
    root = make_blueprint(tmp_path / "bp", _billion_laughs(8, 9))
    started = time.monotonic()
    with pytest.raises(BlueprintError, match="YAML aliases") as info:
        load_blueprint(root)
    assert time.monotonic() - started < 2
    assert info.value.where is not None and info.value.where.startswith("blueprint.yaml:")


def test_too_many_aliases(tmp_path: Path) -> None:
    refs = "\n".join("      - *a" for _ in range(definition.MAX_ALIASES + 1))
    text = f"name: x\nversion: 1.0.0\nvariables:\n  v:\n    default:\n      - &a lol\n{refs}\n"
    root = make_blueprint(tmp_path / "bp", text)
    with pytest.raises(BlueprintError, match=f"more than {definition.MAX_ALIASES} YAML aliases"):
        load_blueprint(root)


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    text = "name: x\nversion: 1.0.0\nvariables:\n  v:\n    default: &d [1, 2]\n  w:\n    type: list\n    default: *d\n"
    bp = load_blueprint(make_blueprint(tmp_path / "bp", text))
    assert bp.variable("w") is not None and bp.variable("w").default == [1, 2]  # type: ignore[union-attr]


def test_self_referencing_alias_is_refused(tmp_path: Path) -> None:
    text = "name: x\nversion: 1.0.0\nvariables:\n  v:\n    default: &a [*a]\n"
    with pytest.raises(BlueprintError, match="alias"):
        load_blueprint(make_blueprint(tmp_path / "bp", text))


def test_nesting_depth_limit(tmp_path: Path) -> None:
    deep = "[" * (definition.MAX_DEPTH + 5) + "]" * (definition.MAX_DEPTH + 5)
    text = f"name: x\nversion: 1.0.0\nvariables:\n  v:\n    default: {deep}\n"
    with pytest.raises(BlueprintError, match=f"deeper than {definition.MAX_DEPTH}") as info:
        load_blueprint(make_blueprint(tmp_path / "bp", text))
    assert info.value.where == "blueprint.yaml:5"


def test_size_limit(tmp_path: Path) -> None:
    padding = "# " + "x" * definition.MAX_DEFINITION_BYTES + "\n"
    root = make_blueprint(tmp_path / "bp", "name: x\nversion: 1.0.0\n" + padding)
    with pytest.raises(BlueprintError, match="the limit is"):
        load_blueprint(root)


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['echo pwned']",
        "!!python/object:os.stat_result {}",
        "!!python/name:os.system",
    ],
)
def test_unsafe_yaml_tags_are_refused(tmp_path: Path, tag: str) -> None:
    root = make_blueprint(tmp_path / "bp", f"name: x\nversion: 1.0.0\ndescription: {tag}\n")
    with pytest.raises(BlueprintError, match="invalid YAML") as info:
        load_blueprint(root)
    assert info.value.where == "blueprint.yaml:3"


# -- YAML and TOML describe the same blueprint -----------------------------------------

FULL = {
    "name": "full",
    "version": "1.2.3-rc.1",
    "description": "Everything at once",
    "tags": ["a", "b"],
    "variables": {
        "project_slug": {"type": "str", "default": "{{ project_name | slug }}", "help": "Slug"},
        "port": {"type": "int", "default": 8000, "validators": [{"min": 1, "max": 65535}]},
        "ratio": {"type": "float", "default": 0.5},
        "docker": {"type": "bool", "default": True},
        "db": {"type": "choice", "choices": ["none", "sqlite"], "default": "sqlite"},
        "level": {"type": "choice", "choices": {"Low": 1, "High": 2}},
        "extras": {"type": "multichoice", "choices": ["x", "y"], "default": ["x"]},
        "models": {"type": "list", "default": ["user"]},
        "meta": {"type": "dict", "default": {"k": "v"}},
        "password": {"type": "secret", "when": "{{ db == 'sqlite' }}", "required": False},
        "name_check": {
            "validators": [{"regex": "^[a-z]+$", "message": "lowercase"}, {"max_length": 9}],
            "default": "abc",
        },
    },
    "files": {
        "exclude": ["*.tmp"],
        "copy_only": ["static/**"],
        "skip_if_exists": ["local.cfg"],
        "loops": [{"path": "models/{{ model }}.py", "over": "models", "as": "model"}],
    },
    "components": {
        "router": {
            "description": "A router",
            "variables": {"name": {"type": "str"}},
            "insertions": [
                {"file": "main.py", "anchor": "# routers", "content": "x", "position": "before"}
            ],
        }
    },
    "formatters": ["ruff-format"],
    "tasks": [["echo", "hi"], {"command": ["true"], "when": "{{ docker }}"}],
}


def _comparable(bp: Blueprint) -> Blueprint:
    """``bp`` without what differs between formats by nature: paths, hash, line numbers."""

    def no_lines(variables: tuple[Variable, ...]) -> tuple[Variable, ...]:
        return tuple(dataclasses.replace(v, line=None) for v in variables)

    return dataclasses.replace(
        bp,
        root=Path("."),
        definition_file=Path("."),
        content_hash="",
        variables=no_lines(bp.variables),
        components={
            name: dataclasses.replace(c, variables=no_lines(c.variables))
            for name, c in bp.components.items()
        },
    )


def test_yaml_and_toml_give_the_same_blueprint(tmp_path: Path) -> None:
    extra = {"components/router/x.py": "x"}
    from_yaml = load_blueprint(make_blueprint(tmp_path / "y", FULL, fmt="yaml", extra=extra))
    from_toml = load_blueprint(make_blueprint(tmp_path / "t", FULL, fmt="toml", extra=extra))
    assert _comparable(from_yaml) == _comparable(from_toml)
    assert from_yaml.definition_file.name == "blueprint.yaml"
    assert from_toml.definition_file.name == "blueprint.toml"
    # Both formats carry line numbers for their variables.
    assert all(v.line for v in from_yaml.variables) and all(v.line for v in from_toml.variables)


def test_parsed_values(tmp_path: Path) -> None:
    bp = load_blueprint(make_blueprint(tmp_path / "y", FULL, extra={"components/router/x.py": "x"}))
    assert bp.name == "full" and bp.version == "1.2.3-rc.1"
    assert [v.name for v in bp.variables][:3] == ["project_slug", "port", "ratio"]
    port = bp.variable("port")
    assert port is not None and port.type == "int"
    assert port.validators == (Validator("min", 1), Validator("max", 65535))
    assert bp.variable("password").secret  # type: ignore[union-attr]
    assert bp.variable("level").choices == {"Low": 1, "High": 2}  # type: ignore[union-attr]
    assert bp.variable("models").default == ["user"]  # type: ignore[union-attr]
    assert bp.variable("project_slug").line == 8  # type: ignore[union-attr]
    assert bp.files.loops[0].as_ == "model"
    assert bp.components["router"].template_dir == "components/router"
    assert bp.components["router"].insertions[0].position == "before"
    assert bp.tasks[0].command == ("echo", "hi") and bp.tasks[1].when == "{{ docker }}"
    assert bp.template_root == bp.root / "template"


def test_shorthand_variable_default(tmp_path: Path) -> None:
    bp = load_blueprint(
        make_blueprint(tmp_path / "bp", "name: x\nversion: 1.0.0\nvariables:\n  a: hello\n  b:\n")
    )
    a, b = bp.variables
    assert (a.type, a.default) == ("str", "hello")
    assert b.default is MISSING


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("template_dir", "../outside"),
        ("template_dir", "/etc"),
        ("template_dir", "C:\\x"),
        ("gitignore", "../../.gitignore"),
    ],
)
def test_file_pointing_keys_stay_in_the_blueprint(
    tmp_path: Path, fmt: str, key: str, value: str
) -> None:
    root = make_blueprint(tmp_path / "bp", {key: value}, fmt=fmt)
    with pytest.raises(
        BlueprintError, match="must be a relative path inside the blueprint"
    ) as info:
        load_blueprint(root)
    assert info.value.where == f"blueprint.{fmt}:3"


def test_component_template_dir_outside_is_refused(tmp_path: Path) -> None:
    spec = {"components": {"evil": {"template_dir": "../../etc"}}}
    with pytest.raises(BlueprintError, match="relative path inside the blueprint"):
        load_blueprint(make_blueprint(tmp_path / "bp", spec))


def test_template_dir_through_a_link_outside_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    root = make_blueprint(tmp_path / "bp", {"template_dir": "tpl"})
    (root / "tpl").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(BlueprintError, match="leaves the blueprint"):
        load_blueprint(root)


def test_loop_path_outside_is_refused(tmp_path: Path) -> None:
    spec = {"files": {"loops": [{"path": "../x/{{ m }}", "over": "ms", "as": "m"}]}}
    with pytest.raises(BlueprintError, match="relative path inside"):
        load_blueprint(make_blueprint(tmp_path / "bp", spec))
