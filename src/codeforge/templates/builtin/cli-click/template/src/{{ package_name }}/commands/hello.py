"""The ``hello`` command: an example to copy."""

import click


@click.command(name="hello")
@click.argument("name", default="World")
@click.option("--shout", is_flag=True, help="Print the greeting in upper case.")
def command(name: str, shout: bool) -> None:
    """Greet NAME (default: World)."""
    message = f"Hello, {name}!"
    click.echo(message.upper() if shout else message)
