"""``codeforge list templates|blueprints|projects`` and ``codeforge show TEMPLATE``."""

from __future__ import annotations

from typing import Any

import click

from codeforge.cli.common import echo_json, settings_from
from codeforge.templates.schema import MISSING, Blueprint, Variable


def variable_info(var: Variable) -> dict[str, Any]:
    return {
        "name": var.name,
        "type": var.type,
        "help": var.help,
        "default": None if var.default is MISSING or var.secret else var.default,
        "choices": var.choices,
        "when": var.when,
        "required": var.required,
        "validators": [
            {"kind": v.kind, "value": v.value, **({"message": v.message} if v.message else {})}
            for v in var.validators
        ],
    }


def blueprint_info(bp: Blueprint, *, detail: bool = False) -> dict[str, Any]:
    info: dict[str, Any] = {
        "name": bp.name,
        "version": bp.version,
        "description": bp.description,
        "tags": list(bp.tags),
    }
    if detail:
        info["variables"] = [variable_info(v) for v in bp.variables]
        info["components"] = {
            name: {
                "description": c.description,
                "variables": [variable_info(v) for v in c.variables],
            }
            for name, c in bp.components.items()
        }
        info["tasks"] = len(bp.tasks)
        info["formatters"] = list(bp.formatters)
    return info


@click.group("list")
def list_() -> None:
    """List templates, blueprints or projects."""


@list_.command("templates")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_templates(ctx: click.Context, as_json: bool) -> None:
    """The blueprints you can use with `init -t NAME`."""
    from codeforge.app.local import usable_blueprints
    from codeforge.cli.common import CliReporter

    blueprints = usable_blueprints(settings_from(ctx), reporter=CliReporter())
    if as_json:
        echo_json([{**blueprint_info(bp), "use": use} for bp, use in blueprints])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "version", "description", "tags", "use with -t", title="Blueprints")
    for bp, use in blueprints:
        table.add_row(bp.name, bp.version, bp.description, ", ".join(bp.tags), use)
    Console().print(table)


@list_.command("blueprints")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_blueprints(ctx: click.Context, as_json: bool) -> None:
    """The blueprints you can use with `init -t NAME`, with the marketplace's marks
    (featured, deprecated and its replacement, stars) from the project database."""
    from codeforge.app.local import usable_blueprints
    from codeforge.app.marketplace import PUBLIC, local_market
    from codeforge.cli.common import CliReporter

    settings = settings_from(ctx)
    blueprints = usable_blueprints(settings, reporter=CliReporter())
    market = local_market(settings)
    rows = []
    for bp, use in blueprints:
        listing = market.listing(bp.name) if market is not None else PUBLIC
        stars = market.stars.get(bp.name, 0) if market is not None else 0
        rows.append(
            {
                **blueprint_info(bp),
                "use": use,
                "featured": listing.featured,
                "deprecated": listing.deprecated,
                "replacement": listing.replacement,
                "stars": stars,
            }
        )
    if as_json:
        echo_json(rows)
        return
    _blueprint_table(rows)


def _marks(row: dict[str, Any]) -> str:
    marks = ["featured"] if row["featured"] else []
    if row["deprecated"]:
        marks.append(
            f"deprecated: use {row['replacement']}" if row["replacement"] else "deprecated"
        )
    return ", ".join(marks)


def _blueprint_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table("name", "version", "description", "marks", "stars", "use with -t")
    table.title = "Blueprints"
    for row in rows:
        cells = [row["name"], row["version"], row["description"], _marks(row)]
        table.add_row(*map(escape, cells), str(row["stars"]), escape(row["use"]))
    Console().print(table)


@list_.command("projects")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_projects(ctx: click.Context, as_json: bool) -> None:
    """Projects CodeForge has generated (from the project database)."""
    from codeforge.cli.store import show_projects

    show_projects(settings_from(ctx), as_json)


@click.command()
@click.argument("template")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--trust", is_flag=True, hidden=True)
@click.pass_context
def show(ctx: click.Context, template: str, as_json: bool, trust: bool) -> None:
    """Show TEMPLATE's variables (type, default, choices, help) and components."""
    from codeforge.app.local import local_engine

    loaded = local_engine(settings_from(ctx)).load_blueprint(template)
    info = blueprint_info(loaded.blueprint, detail=True)
    info["source"] = loaded.source.source
    if as_json:
        echo_json(info)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    bp = loaded.blueprint
    console.print(f"[bold]{bp.name}[/] {bp.version} — {bp.description}")
    console.print(f"source: {loaded.source.source}")
    table = Table("variable", "type", "default", "choices", "help")
    for var in info["variables"]:
        choices = var["choices"]
        if isinstance(choices, dict):
            choices = list(choices)
        table.add_row(
            var["name"],
            var["type"],
            "" if var["default"] is None else str(var["default"]),
            ", ".join(map(str, choices)) if isinstance(choices, list) else str(choices or ""),
            var["help"] + (f" (when {var['when']})" if var["when"] else ""),
        )
    console.print(table)
    for name, comp in info["components"].items():
        args = " ".join(v["name"].upper() for v in comp["variables"][:1])
        console.print(f"component [bold]{name}[/] {args} — {comp['description']}")
