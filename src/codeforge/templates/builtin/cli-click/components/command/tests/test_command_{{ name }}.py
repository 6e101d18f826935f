"""Tests for the ``{{ name | kebab }}`` command."""

from click.testing import CliRunner

from {{ package_name }}.cli import cli


def test_{{ name }}_runs() -> None:
    result = CliRunner().invoke(cli, ["{{ name | kebab }}"])
    assert result.exit_code == 0
    assert result.output == "{{ name | kebab }}: done\n"


def test_{{ name }}_count() -> None:
    result = CliRunner().invoke(cli, ["{{ name | kebab }}", "--count", "2"])
    assert result.exit_code == 0
    assert result.output.count("done") == 2


def test_{{ name }}_is_listed_in_help() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert "{{ name | kebab }}" in result.output
