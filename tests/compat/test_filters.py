"""CodeForge's Ansible-style filters give what copier's (jinja2-ansible-filters) give.

copier ships jinja2-ansible-filters (GPL-3.0); CodeForge re-implements the
host-independent part. The installed original is the reference here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jinja2_ansible_filters.core_filters import FilterModule

from codeforge.app.context import local_engine
from codeforge.errors import ResourceLimitError, TemplateError
from codeforge.sources.compat.filters import ANSIBLE_FILTERS

REFERENCE = FilterModule().filters()
DATA: dict[str, Any] = {"b": [1, 2.5, None, True], "a": {"ünï": "ß", "z": "multi\nline"}}

CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("to_yaml", (DATA,), {}),
    ("to_nice_yaml", (DATA,), {}),
    ("to_nice_yaml", (DATA, 2), {}),
    ("to_json", (DATA,), {}),
    ("to_json", (DATA,), {"sort_keys": True, "indent": 2}),
    ("to_nice_json", (DATA,), {}),
    ("from_json", ('{"x": [1, 2]}',), {}),
    ("from_yaml", ("x: [1, 2]\ny: no",), {}),
    ("b64encode", ("héllo wörld",), {}),
    ("b64decode", ("aMOpbGxvIHfDtnJsZA==",), {}),
    ("to_uuid", ("my-project",), {}),
    ("md5", ("abc",), {}),
    ("sha1", ("abc",), {}),
    ("checksum", ("abc",), {}),
    ("hash", ("abc", "sha256"), {}),
    ("hash", ("abc", "nope"), {}),
    ("basename", ("a/b/c.txt",), {}),
    ("dirname", ("a/b/c.txt",), {}),
    ("splitext", ("a/b/c.tar.gz",), {}),
    ("win_basename", ("C:\\x\\y.txt",), {}),
    ("win_dirname", ("C:\\x\\y.txt",), {}),
    ("win_splitdrive", ("C:\\x\\y.txt",), {}),
    ("bool", ("Yes",), {}),
    ("bool", ("off",), {}),
    ("bool", (1,), {}),
    ("bool", (None,), {}),
    ("quote", ("it's $HOME",), {}),
    ("regex_replace", ("Hello World", r"(\w+) (\w+)", r"\2 \1"), {}),
    ("regex_replace", ("ABC", "b", "x"), {"ignorecase": True}),
    ("regex_search", ("version 1.2.3", r"(\d+)\.(\d+)"), {}),
    ("regex_search", ("version 1.2.3", r"(\d+)\.(\d+)", "\\2", "\\1"), {}),
    ("regex_search", ("version 1.2.3", r"(?P<major>\d+)", "\\g<major>"), {}),
    ("regex_search", ("nothing", r"\d"), {}),
    ("regex_findall", ("a1b22c333", r"\d+"), {}),
    ("regex_escape", ("a.b*c",), {}),
    ("regex_escape", ("a.b*c",), {"re_type": "posix_basic"}),
    ("ternary", (True, "y", "n"), {}),
    ("ternary", (None, "y", "n", "none"), {}),
    ("combine", ({"a": {"x": 1}}, {"a": {"y": 2}, "b": 3}), {}),
    ("combine", ({"a": {"x": 1}}, {"a": {"y": 2}}), {"recursive": True}),
    ("combine", ([{"a": 1}, {"b": 2}],), {}),
    ("flatten", ([1, [2, [3, [4]]]],), {}),
    ("flatten", ([1, [2, [3, [4]]]],), {"levels": 1}),
    ("strftime", ("%Y-%m-%d", 86400 * 365), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), CALLS, ids=[c[0] for c in CALLS])
def test_same_as_ansible(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    assert ANSIBLE_FILTERS[name](*args, **kwargs) == REFERENCE[name](*args, **kwargs)


def test_host_reading_filters_are_absent() -> None:
    for name in ("fileglob", "expanduser", "expandvars", "realpath", "relpath"):
        assert name in REFERENCE and name not in ANSIBLE_FILTERS


def _copier_template(tmp_path: Path, body: str) -> Path:
    root = tmp_path / "tpl"
    root.mkdir()
    (root / "copier.yml").write_text("x: 1\n")
    (root / "out.txt.jinja").write_text(body)
    return root


def test_environment_variables_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """copier would render `$SECRET` through expandvars; CodeForge has no such filter."""

    monkeypatch.setenv("CF_TEST_SECRET", "hunter2")
    root = _copier_template(tmp_path, "{{ '$CF_TEST_SECRET' | expandvars }}\n")
    with pytest.raises(TemplateError, match="expandvars"):
        local_engine().create_project(str(root), "p", output_dir=tmp_path / "o", git=False)
    assert not (tmp_path / "o" / "p").exists()


def test_catastrophic_regex_is_stopped(tmp_path: Path) -> None:

    root = _copier_template(tmp_path, "{{ ('a' * 40 + '!') | regex_search('^(a|a)+$') }}\n")
    with pytest.raises(ResourceLimitError, match="regular expression"):
        local_engine().create_project(str(root), "p", output_dir=tmp_path / "o", git=False)
