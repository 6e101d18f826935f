"""Helpers shared by the CLI commands: settings, data options, reporters, prompts."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from codeforge.errors import UsageError
from codeforge.settings import Settings, load_settings
from codeforge.templates.schema import Variable


def settings_from(ctx: click.Context) -> Settings:
    obj = ctx.ensure_object(dict)
    if "settings" not in obj:
        obj["settings"] = load_settings()
    settings: Settings = obj["settings"]
    return settings


def parse_data(pairs: Sequence[str], data_file: Path | None) -> dict[str, Any]:
    """``--data-file`` values, then ``--data K=V`` on top (strings, converted later by type)."""
    data: dict[str, Any] = {}
    if data_file is not None:
        import yaml

        try:
            loaded = yaml.safe_load(data_file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(
                f"cannot read --data-file: {exc.strerror}", where=str(data_file)
            ) from exc
        except yaml.YAMLError as exc:
            # One line: PyYAML's own text spans several, with the offending source quoted.
            mark = getattr(exc, "problem_mark", None)
            where = f"{data_file}:{mark.line + 1}:{mark.column + 1}" if mark else str(data_file)
            problem = getattr(exc, "problem", None) or type(exc).__name__
            raise UsageError(
                f"--data-file is not valid YAML/JSON: {problem}",
                where=where,
                hint="write one `variable: value` per line (YAML) or a JSON object",
            ) from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise UsageError(
                "--data-file must hold a mapping of variable: value", where=str(data_file)
            )
        data.update(json.loads(json.dumps(loaded, default=str)))
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--data expects KEY=VALUE, got {pair!r}")
        data[key.strip()] = value
    return data


class CliReporter:
    """Messages to stderr; a progress bar for long renders and a live line for an action's
    running output (a build's log) on a terminal."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._progress: Any = None
        self._task: Any = None
        self._status: Any = None  # the running-output line on a terminal (rich Status)

    def info(self, message: str) -> None:
        if self.quiet:
            return
        if self._status is not None:  # above the live line, which stays at the bottom
            self._status.console.print(message, markup=False, highlight=False, soft_wrap=True)
        else:
            click.echo(message, err=True)

    def detail(self, message: str) -> None:
        """An action's running output (a build log line): shown in place of the previous
        one on a terminal (each on its own line where TERM=dumb), nowhere else ("" ends
        it). Step lines come through ``info``."""
        if self.quiet or not sys.stderr.isatty():
            return
        if os.environ.get("TERM") == "dumb":  # a terminal that cannot redraw: plain lines
            if message:
                click.echo(click.style(f"  {message}", dim=True), err=True)
            return
        if not message:
            if self._status is not None:
                self._status.stop()
                self._status = None
            return
        from rich.text import Text

        if self._status is None:
            from rich.console import Console

            self._status = Console(stderr=True).status("", spinner="dots")
            self._status.start()
        width = max(20, self._status.console.width - 4)
        self._status.update(Text(message[:width], style="dim", no_wrap=True))

    def warn(self, message: str) -> None:
        click.echo(click.style("warning: ", fg="yellow") + message, err=True)

    def progress(self, done: int, total: int) -> None:
        if total < 300 or self.quiet or not sys.stderr.isatty():
            return
        if self._progress is None:
            from rich.progress import Progress

            self._progress = Progress(transient=True)
            self._progress.start()
            self._task = self._progress.add_task("rendering", total=total)
        self._progress.update(self._task, completed=done)
        if done >= total:
            self._progress.stop()
            self._progress = None


class ClickPrompter:
    """Interactive questions; validated by the core and asked again on error."""

    def ask(
        self,
        variable: Variable,
        default: Any,
        choices: Sequence[tuple[str, Any]] | None,
        error: str | None,
    ) -> Any:
        if error:
            click.echo(click.style(f"  {error}", fg="red"), err=True)
        label = variable.help or variable.name
        if variable.type == "bool":
            return click.confirm(label, default=bool(default) if default is not None else None)
        if variable.type in ("choice", "multichoice") and choices:
            labels = [lbl for lbl, _ in choices]
            if sys.stdin.isatty() and sys.stdout.isatty():
                import questionary

                if variable.type == "choice":
                    current = next((lbl for lbl, val in choices if val == default), None)
                    answer = questionary.select(label, choices=labels, default=current).unsafe_ask()
                    return answer
                picked = questionary.checkbox(
                    label,
                    choices=[
                        questionary.Choice(lbl, checked=val in (default or []))
                        for lbl, val in choices
                    ],
                ).unsafe_ask()
                return list(picked)
            shown = f"{label} [{'/'.join(labels)}]"
            if variable.type == "multichoice":
                text = ",".join(lbl for lbl, val in choices if val in (default or []))
                return click.prompt(shown + " (comma-separated)", default=text, show_default=True)
            current = next((lbl for lbl, val in choices if val == default), None)
            return click.prompt(shown, default=current)
        if variable.type == "secret":
            return click.prompt(label, hide_input=True, default=default or None, show_default=False)
        if variable.type in ("list", "multichoice"):
            text = ",".join(str(v) for v in default or [])
            return click.prompt(label + " (comma-separated)", default=text)
        if variable.type == "dict":
            return click.prompt(label + " (JSON)", default=json.dumps(default or {}))
        shown_default = "" if default is None else str(default)
        return click.prompt(label, default=shown_default, show_default=bool(shown_default))


class NoTerminalPrompter:
    """Stands in for questions when there is no terminal: a question left unanswered
    is an error saying how to answer it, never a silently taken default."""

    def ask(
        self,
        variable: Variable,
        default: Any,
        choices: Sequence[tuple[str, Any]] | None,
        error: str | None,
    ) -> Any:
        raise UsageError(
            f"there is no terminal to ask {variable.name!r}"
            + (f" ({variable.help})" if variable.help else ""),
            hint=f"answer with --data {variable.name}=VALUE (or --data-file FILE), "
            "or pass --defaults to take the defaults",
        )


def prompter_for(defaults: bool) -> ClickPrompter | NoTerminalPrompter | None:
    """Ask on a terminal; without one, refuse to guess; with ``--defaults``, ask nothing."""
    if defaults:
        return None
    return ClickPrompter() if sys.stdin.isatty() else NoTerminalPrompter()


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def echo_conflicts(paths: Sequence[str], advice: str) -> None:
    """``conflicts: A, B — ADVICE`` on stderr."""
    click.echo(
        click.style("conflicts: ", fg="red", bold=True) + ", ".join(paths) + f" — {advice}",
        err=True,
    )
