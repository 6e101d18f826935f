"""Name filters: examples, properties over arbitrary text, and use from a template."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from codeforge.settings import RenderLimits
from codeforge.templates.environment import CodeForgeEnvironment
from codeforge.templates.filters import (
    camel,
    kebab,
    pascal,
    slug,
    snake,
    title_words,
    to_json,
    to_yaml,
    words,
)

EXAMPLES = [
    # text, slug, snake, camel, pascal, kebab, title_words
    (
        "Hello World",
        "hello-world",
        "hello_world",
        "helloWorld",
        "HelloWorld",
        "hello-world",
        "Hello World",
    ),
    (
        "HTTPServer2Go",
        "http-server2-go",
        "http_server2_go",
        "httpServer2Go",
        "HttpServer2Go",
        "http-server2-go",
        "HTTP Server2 Go",
    ),
    # Digits stay in their word: a package `app2`, not `app_2`.
    ("app2", "app2", "app2", "app2", "App2", "app2", "App2"),
    (
        "oauth2client",
        "oauth2client",
        "oauth2client",
        "oauth2client",
        "Oauth2client",
        "oauth2client",
        "Oauth2client",
    ),
    (
        "py3-tools v10",
        "py3-tools-v10",
        "py3_tools_v10",
        "py3ToolsV10",
        "Py3ToolsV10",
        "py3-tools-v10",
        "Py3 Tools V10",
    ),
    (
        "my-cool_project",
        "my-cool-project",
        "my_cool_project",
        "myCoolProject",
        "MyCoolProject",
        "my-cool-project",
        "My Cool Project",
    ),
    (
        "Élan vital",
        "elan-vital",
        "elan_vital",
        "elanVital",
        "ElanVital",
        "elan-vital",
        "Elan Vital",
    ),
    ("shop API", "shop-api", "shop_api", "shopApi", "ShopApi", "shop-api", "Shop API"),
    ("", "", "", "", "", "", ""),
    ("  --  ", "", "", "", "", "", ""),
]


@pytest.mark.parametrize(
    ("text", "slug_", "snake_", "camel_", "pascal_", "kebab_", "title_"), EXAMPLES
)
def test_examples(
    text: str, slug_: str, snake_: str, camel_: str, pascal_: str, kebab_: str, title_: str
) -> None:
    assert slug(text) == slug_
    assert snake(text) == snake_
    assert camel(text) == camel_
    assert pascal(text) == pascal_
    assert kebab(text) == kebab_
    assert title_words(text) == title_


texts = st.text(max_size=60)


def yaml_text(size: int) -> st.SearchStrategy[str]:
    # PyYAML reads NEL and the Unicode line/paragraph separators back as line breaks
    # (a known PyYAML limitation, see the report), and control characters are not YAML.
    return st.text(
        st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x85"),
        max_size=size,
    )


@settings(max_examples=200, deadline=None, database=None)
@given(texts)
def test_snake_is_lowercase_identifier_chars(text: str) -> None:
    assert re.fullmatch(r"[a-z0-9_]*", snake(text))
    assert "__" not in snake(text)
    assert not snake(text).startswith("_") and not snake(text).endswith("_")


@settings(max_examples=200, deadline=None, database=None)
@given(texts)
def test_kebab_and_slug_are_url_safe(text: str) -> None:
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*|", kebab(text))
    assert slug(text) == kebab(text)


@settings(max_examples=200, deadline=None, database=None)
@given(texts)
def test_pascal_and_camel_are_alphanumeric(text: str) -> None:
    p, c = pascal(text), camel(text)
    assert re.fullmatch(r"[A-Za-z0-9]*", p)
    assert re.fullmatch(r"[A-Za-z0-9]*", c)
    assert p[:1] == p[:1].upper()
    assert c[:1] == c[:1].lower()
    assert c.lower() == p.lower() == snake(text).replace("_", "")


@settings(max_examples=200, deadline=None, database=None)
@given(texts)
def test_conversions_are_idempotent_and_agree(text: str) -> None:
    s = snake(text)
    assert snake(s) == s
    assert kebab(kebab(text)) == kebab(text)
    assert snake(kebab(text)) == s
    assert kebab(s) == kebab(text)
    assert len(title_words(text).split()) == len(words(text))


@settings(max_examples=100, deadline=None, database=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | yaml_text(10),
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(yaml_text(5), children, max_size=3)
        ),
        max_leaves=10,
    )
)
def test_to_json_and_to_yaml_round_trip(value: object) -> None:
    assert json.loads(to_json(value)) == value
    assert yaml.safe_load(to_yaml(value)) == value


def test_filters_available_in_templates() -> None:
    env = CodeForgeEnvironment(None, RenderLimits(), None)
    source = "{{ n | snake }} {{ n | camel }} {{ n | pascal }} {{ n | kebab }} {{ n | slug }} {{ n | title_words }} {{ d | to_json }}"
    out = env.template_from_source(source, "t").render(n="Shop API", d={"a": [1]})
    assert out == 'shop_api shopApi ShopApi shop-api shop-api Shop API {"a": [1]}'
