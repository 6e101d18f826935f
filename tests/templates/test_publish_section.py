"""The `publish:` section of a definition: CI secrets, their errors and their JSON Schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from codeforge.errors import BlueprintError
from codeforge.templates.definition import read_definition
from codeforge.templates.publish import PUBLISH_SCHEMA, SecretSource
from codeforge.templates.schema import Blueprint
from codeforge.templates.validation import build_blueprint

ROOT = Path(__file__).resolve().parents[2]
BUILTIN = ROOT / "src" / "codeforge" / "templates" / "builtin"
HEAD = "name: x\nversion: 1.0.0\nvariables:\n  tok: {type: secret}\n  plain: {type: str}\n"


def build(tmp_path: Path, text: str, suffix: str = ".yaml") -> Blueprint:
    path = tmp_path / f"blueprint{suffix}"
    path.write_text(text, encoding="utf-8")
    data, locate = read_definition(path)
    return build_blueprint(data, locate, root=tmp_path, definition=path, content_hash="x")


def test_secrets_are_read_with_their_sources(tmp_path: Path) -> None:
    bp = build(
        tmp_path,
        HEAD
        + "publish:\n  secrets:\n"
        + "    - {name: API_TOKEN, answer: tok, when: '{{ plain }}'}\n"
        + "    - {name: FORGE, credential: gitlab, host: gl.example.com,"
        + " credential_name: ci, required: false}\n",
    )
    assert bp.publish is not None
    assert bp.publish.secrets == (
        SecretSource("API_TOKEN", answer="tok", when="{{ plain }}"),
        SecretSource(
            "FORGE",
            credential="gitlab",
            host="gl.example.com",
            credential_name="ci",
            required=False,
        ),
    )
    assert [s.origin for s in bp.publish.secrets] == [
        "the answer 'tok'",
        "the gitlab credential 'ci'",
    ]


def test_toml_spells_the_same_keys(tmp_path: Path) -> None:
    text = (
        'name = "x"\nversion = "1.0.0"\n[variables.tok]\ntype = "secret"\n'
        '[[publish.secrets]]\nname = "API_TOKEN"\nanswer = "tok"\n'
    )
    bp = build(tmp_path, text, ".toml")
    assert bp.publish is not None and bp.publish.secrets == (SecretSource("API_TOKEN", "tok"),)


def test_no_section_is_none(tmp_path: Path) -> None:
    assert build(tmp_path, HEAD).publish is None


# case -> (section text, line of the error, message fragment)
BAD: dict[str, tuple[str, int, str]] = {
    "unknown key": ("publish:\n  vars: []\n", 7, "publish.vars: unknown key"),
    "not a list": ("publish:\n  secrets: {A: tok}\n", 7, "publish.secrets: expected a list"),
    "no name": ("publish:\n  secrets:\n    - {answer: tok}\n", 8, "missing `name`"),
    "bad name": (
        "publish:\n  secrets:\n    - {name: 1ABC, answer: tok}\n",
        8,
        "'1ABC' is not a valid secret name",
    ),
    "github prefix": (
        "publish:\n  secrets:\n    - {name: GITHUB_X, answer: tok}\n",
        8,
        "'GITHUB_X' is not a valid secret name",
    ),
    "neither source": (
        "publish:\n  secrets:\n    - {name: A}\n",
        8,
        "exactly one of `answer` or `credential`",
    ),
    "both sources": (
        "publish:\n  secrets:\n    - {name: A, answer: tok, credential: github}\n",
        8,
        "exactly one of `answer` or `credential`",
    ),
    "undeclared answer": (
        "publish:\n  secrets:\n    - {name: A, answer: nope}\n",
        8,
        "no variable 'nope' is declared",
    ),
    "answer not secret": (
        "publish:\n  secrets:\n    - {name: A, answer: plain}\n",
        8,
        "the variable 'plain' must have type secret",
    ),
    "host on an answer": (
        "publish:\n  secrets:\n    - {name: A, answer: tok, host: h}\n",
        8,
        "publish.secrets.0.host: applies to a `credential` secret only",
    ),
    "bad provider": (
        "publish:\n  secrets:\n    - {name: A, credential: GitHub}\n",
        8,
        "'GitHub' is not a valid provider name",
    ),
    "bad credential name": (
        "publish:\n  secrets:\n    - {name: A, credential: github, credential_name: 'a b'}\n",
        8,
        "'a b' is not a valid credential name",
    ),
    "required not bool": (
        "publish:\n  secrets:\n    - {name: A, answer: tok, required: 'no'}\n",
        8,
        "publish.secrets.0.required: expected true or false",
    ),
    "twice": (
        "publish:\n  secrets:\n    - {name: A, answer: tok}\n    - {name: a, credential: github}\n",
        9,
        "the secret 'a' is declared twice",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_sections_name_file_line_and_key(tmp_path: Path, case: str) -> None:
    text, line, fragment = BAD[case]
    with pytest.raises(BlueprintError) as info:
        build(tmp_path, HEAD + text)
    assert info.value.where == f"blueprint.yaml:{line}"
    assert fragment in info.value.message
    if case in ("undeclared answer", "answer not secret", "twice"):
        return  # rules across keys: the schema cannot see them
    section = yaml.safe_load(HEAD + text)["publish"]
    assert not jsonschema.Draft202012Validator(PUBLISH_SCHEMA).is_valid(section)


@pytest.mark.parametrize("name", ["cli-click", "lib-python"])
def test_builtin_sections_match_the_schema(name: str) -> None:
    data = yaml.safe_load((BUILTIN / name / "blueprint.yaml").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(PUBLISH_SCHEMA).validate(data["publish"])
    assert data["publish"]["secrets"] == [
        {"name": "PYPI_API_TOKEN", "answer": "pypi_token", "required": False}
    ]
    assert data["variables"]["pypi_token"]["type"] == "secret"


def test_the_documented_schema_is_the_one_in_the_code() -> None:
    text = (ROOT / "docs" / "blueprint-format.md").read_text(encoding="utf-8")
    section = text.split("## Publish", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```json\n(.*?)```", section, re.S)
    assert [json.loads(b) for b in blocks] == [PUBLISH_SCHEMA]
    jsonschema.Draft202012Validator.check_schema(PUBLISH_SCHEMA)
