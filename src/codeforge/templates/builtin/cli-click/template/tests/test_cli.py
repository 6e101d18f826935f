"""Tests for the ``{{ command_name }}`` command group."""

import subprocess
import sys

from click.testing import CliRunner

from {{ package_name }} import __version__
from {{ package_name }}.cli import cli


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert "{{ command_name }}" in result.output
    assert __version__ in result.output


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "hello" in result.output


def test_hello_default() -> None:
    result = CliRunner().invoke(cli, ["hello"])
    assert result.exit_code == 0
    assert result.output == "Hello, World!\n"


def test_hello_shout() -> None:
    result = CliRunner().invoke(cli, ["hello", "Ada", "--shout"])
    assert result.exit_code == 0
    assert result.output == "HELLO, ADA!\n"


def test_unknown_command_fails() -> None:
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code != 0


def test_python_dash_m() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "{{ package_name }}", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert __version__ in completed.stdout
