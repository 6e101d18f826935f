"""The catalog and each blueprint's JSON Schema."""

from __future__ import annotations

import pytest

from .conftest import Api

V1 = "/api/v1"


def test_list_blueprints(api: Api) -> None:
    for caller in (api.alice, api.bob, api.root):
        response = api.as_(caller, "GET", f"{V1}/blueprints")
        assert response.status_code == 200
        names = [b["name"] for b in response.json()]
        assert {"cli-click", "lib-python", "web-fastapi"} <= set(names)
        assert names == sorted(names)


def test_blueprint_schema_describes_the_variables(api: Api) -> None:
    body = api.as_(api.alice, "GET", f"{V1}/blueprints/web-fastapi").json()
    assert body["source"] == "builtin:web-fastapi"
    schema = body["variables_schema"]
    props = schema["properties"]
    assert schema["additionalProperties"] is False
    assert props["database"]["enum"] == ["none", "sqlite", "postgresql"]
    assert props["database"]["default"] == "sqlite"
    assert props["use_docker"]["type"] == "boolean"
    assert props["package_name"]["pattern"] == "^(?:^[a-z_][a-z0-9_]*$)$"
    assert props["package_name"]["x-default-expr"] == "{{ project_name | snake }}"
    assert body["components"] == ["model", "router"]


def test_schema_of_when_secret_and_validators() -> None:
    from codeforge.core.schema_export import variables_schema
    from codeforge.templates.schema import Variable
    from codeforge.templates.sections import Validator

    schema = variables_schema(
        [
            Variable(
                "port",
                "int",
                default=8000,
                validators=(Validator("min", 1), Validator("max", 65535)),
            ),
            Variable("token", "secret", default="s3cret", when="{{ port > 80 }}"),
            Variable("tags", "list", default=[], validators=(Validator("max_length", 3),)),
            Variable("n", "str", validators=(Validator("expr", "value != 'x'", "not x"),)),
            Variable("mods", "multichoice", choices={"A": "a", "B": "b"}, default=["a"]),
        ]
    )
    props = schema["properties"]
    assert props["port"] == {
        "title": "port",
        "x-order": 0,
        "x-type": "int",
        "type": "integer",
        "default": 8000,
        "minimum": 1,
        "maximum": 65535,
    }
    assert "default" not in props["token"] and props["token"]["writeOnly"] is True
    assert props["token"]["x-when"] == "{{ port > 80 }}"
    assert props["tags"]["maxItems"] == 3
    assert props["n"]["x-expr"] == [{"expr": "value != 'x'", "message": "not x"}]
    assert props["mods"]["items"]["enum"] == ["a", "b"]
    assert schema["required"] == ["n"]


def test_components(api: Api) -> None:
    body = api.as_(api.bob, "GET", f"{V1}/blueprints/web-fastapi/components").json()
    assert [c["name"] for c in body] == ["model", "router"]
    assert "name" in body[1]["variables_schema"]["properties"]


@pytest.mark.parametrize("path", ["/blueprints/nope", "/blueprints/nope/components"])
def test_unknown_blueprint_is_404(api: Api, path: str) -> None:
    response = api.as_(api.alice, "GET", V1 + path)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_bad_blueprint_name_is_422(api: Api) -> None:
    assert api.as_(api.alice, "GET", f"{V1}/blueprints/..%2Fetc").status_code in (404, 422)
    assert api.as_(api.alice, "GET", f"{V1}/blueprints/UPPER").status_code == 422
