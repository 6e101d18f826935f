"""The ``codeforge`` command: a lazy Click group and the one error boundary.

Subcommands live in their own modules and are imported only when used, so
``codeforge --help`` stays fast and never imports the web stack or the database.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from codeforge import __version__

INTERRUPTED_EXIT = 130

DEBUG_ENV = "CODEFORGE_DEBUG"

# name -> (module, attribute, one-line help shown by --help without importing it)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("codeforge.cli.init", "init", "Create a project from a blueprint."),
    "generate": ("codeforge.cli.generate", "generate", "Add a component to a generated project."),
    "list": ("codeforge.cli.catalog", "list_", "List templates, blueprints or projects."),
    "show": ("codeforge.cli.catalog", "show", "Show a blueprint's variables and components."),
    "config": ("codeforge.cli.config", "config", "Read and edit the user configuration."),
    "db": ("codeforge.cli.store", "db", "Manage the project database."),
    "projects": ("codeforge.cli.store", "projects", "Register and inspect recorded projects."),
    "serve": ("codeforge.cli.serve", "serve", "Run the web API."),
    "users": ("codeforge.cli.admin", "users", "Manage API users."),
    "keys": ("codeforge.cli.admin", "keys", "Manage API keys (shown once, stored as a hash)."),
    "groups": (
        "codeforge.cli.groups",
        "groups",
        "Manage user groups (private blueprints are shared with groups).",
    ),
    "blueprints": (
        "codeforge.cli.blueprints",
        "blueprints",
        "Mark blueprints featured or deprecated (as the API does).",
    ),
    "ai": ("codeforge.cli.ai", "ai", "AI help: recommend, describe, generate and review code."),
    "update": ("codeforge.cli.update", "update", "Merge a newer blueprint version into a project."),
    "check": ("codeforge.cli.update", "check", "Say whether a newer blueprint version exists."),
    "diff": ("codeforge.cli.update", "diff", "Show what an update would change."),
    "worker": ("codeforge.cli.worker", "worker", "Run a job worker on the Redis queue."),
    "plugins": ("codeforge.cli.plugins", "plugins", "List installed plugins and their hooks."),
    "publish": (
        "codeforge.cli.publish",
        "publish",
        "Publish a project to GitHub or GitLab (create, push, configure).",
    ),
    "deploy": (
        "codeforge.cli.deploy",
        "deploy",
        "Verify, build, publish and deploy a project (Docker, Compose, Kubernetes).",
    ),
    "workflow": (
        "codeforge.cli.workflow",
        "workflow",
        "Run a project's verify, build, publish and deploy stages.",
    ),
    "fleet": (
        "codeforge.cli.fleet",
        "fleet",
        "Every recorded project against its blueprint: status, update (in place or as PRs).",
    ),
    "credentials": (
        "codeforge.cli.credentials",
        "credentials",
        "Store and test forge tokens (encrypted at rest).",
    ),
}
_PLUGIN_COMMANDS = "codeforge.plugin-commands"  # ctx.meta key: shared by the whole command line


def plugin_commands(ctx: click.Context) -> dict[str, click.Command]:
    """The commands installed plugins add (``codeforge_register_commands``), loaded once."""
    found = ctx.meta.get(_PLUGIN_COMMANDS)
    if found is None and _only_default_plugins():
        found = ctx.meta[_PLUGIN_COMMANDS] = {}  # the default plugins add no command
    if found is None:
        from codeforge.cli.plugins import plugins_from

        group = click.Group()
        plugins_from(ctx).register_commands(group, reserved=COMMANDS)
        found = ctx.meta[_PLUGIN_COMMANDS] = dict(group.commands)
    assert isinstance(found, dict)
    return found


def _only_default_plugins() -> bool:
    from codeforge.plugins.discovery import only_default_plugins

    return only_default_plugins(os.environ)


class LazyGroup(click.Group):
    """Built-in commands imported only when used; plugin commands after them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *plugin_commands(ctx), *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            module_name, attr, _ = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module_name), attr)
            assert isinstance(command, click.Command)
            return command
        return plugin_commands(ctx).get(cmd_name) or super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)
        extra = plugin_commands(ctx)
        if extra:
            with formatter.section("Plugin commands"):
                formatter.write_dl(
                    [(name, extra[name].get_short_help_str()) for name in sorted(extra)]
                )

    def invoke(self, ctx: click.Context) -> None:
        # A command's return value is never a process status (only ``ctx.exit(n)`` is),
        # so that ``main(standalone_mode=False)`` returns exactly the code of an exit.
        super().invoke(ctx)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="codeforge")
@click.option("--debug", is_flag=True, envvar=DEBUG_ENV, help="Show tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """CodeForge: create projects from blueprints and keep them in step.

    \b
    Exit codes: 0 ok, 1 other error (ai review --fail-on: a finding),
    2 usage, 3 validation, 4 conflict, 5 template, 6 security, 7 blueprint
    definition, 8 not found, 9 store, 10 git or network, 11 task, 12 AI off, 13 AI
    provider (or its server lost mid-review), 14 declined, 15
    credentials (missing, refused, lacking a scope, wrong key), 100 update available (check, diff --exit-code),
    101 check resolved an interrupted operation, 102 update left conflicts,
    130 interrupted.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def env_flag(value: str | None) -> bool:
    """Whether an on/off environment variable is on (``1``, ``true``, ``yes``, ``on``)."""
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def run(argv: list[str] | None = None) -> None:
    """Run the CLI and end the process with its status (the console script)."""
    sys.exit(status(argv))


def status(argv: list[str] | None = None) -> int:
    """Run the CLI; the one place where every way out becomes the process's exit status.

    CodeForge errors become one red line, a hint and their ``exit_code``; Click's
    usage errors, ``ctx.exit(n)`` and aborts their own codes.
    """
    from codeforge.errors import CodeForgeError

    args = argv if argv is not None else sys.argv[1:]
    debug = "--debug" in args or env_flag(os.environ.get(DEBUG_ENV))
    try:
        # standalone_mode=False: Click raises its errors and *returns* the code of
        # ``ctx.exit(n)`` / ``click.exceptions.Exit`` instead of exiting.
        code = cli.main(args=argv, prog_name="codeforge", standalone_mode=False)
    except CodeForgeError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        report_error(exc)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return INTERRUPTED_EXIT
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return INTERRUPTED_EXIT
    return code if isinstance(code, int) else 0


def report_error(exc: Any) -> None:
    message = click.style("error: ", fg="red", bold=True) + str(exc)
    click.echo(message, err=True)
    if getattr(exc, "hint", None):
        click.echo(click.style("hint: ", fg="yellow") + exc.hint, err=True)
