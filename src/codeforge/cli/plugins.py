"""``codeforge plugins``: what is installed and which hooks each plugin implements."""

from __future__ import annotations

import click

from codeforge.plugins.manager import Plugins, build_plugins

META_KEY = "codeforge.plugins"


def plugins_from(ctx: click.Context) -> Plugins:
    """The plugin manager for this command line, built once and shared by every command."""
    plugins = ctx.meta.get(META_KEY)
    if plugins is None:
        plugins = ctx.meta[META_KEY] = build_plugins()
    assert isinstance(plugins, Plugins)
    return plugins


@click.group()
def plugins() -> None:
    """Installed plugins (entry-point group codeforge.plugins) and the built-in ones."""


@plugins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_plugins(ctx: click.Context, as_json: bool) -> None:
    """Each plugin with its distribution, version and the hooks it implements."""
    from codeforge.cli.common import echo_json

    found = plugins_from(ctx).info()
    if as_json:
        echo_json([info._asdict() for info in found])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "distribution", "version", "hooks", title="Plugins")
    for info in found:
        name = f"{info.name} (built-in)" if info.builtin else info.name
        table.add_row(name, info.distribution, info.version, ", ".join(info.hooks))
    Console().print(table)
