"""The ``{{ name | kebab }}`` command."""

import click


@click.command(name="{{ name | kebab }}")
@click.option("--count", default=1, show_default=True, help="How many times to run.")
def command(count: int) -> None:
    """Run {{ name | kebab }}."""
    for _ in range(count):
        click.echo("{{ name | kebab }}: done")
