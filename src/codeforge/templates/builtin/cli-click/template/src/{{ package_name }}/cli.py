"""The ``{{ command_name }}`` command group."""

import click

from {{ package_name }} import __version__
from {{ package_name }}.commands import hello
# codeforge:command-imports


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="{{ command_name }}")
def cli() -> None:
    """Command-line interface of {{ command_name }}."""


cli.add_command(hello.command)
# codeforge:commands
