"""``codeforge ai``: recommend, describe, generate, review, serve.

Imports stay lazy: importing this module pulls in Click only; the provider,
onnxruntime and xllamacpp load when a command runs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from codeforge.errors import CodeForgeError, Declined, UsageError

if TYPE_CHECKING:
    from codeforge.ai.bridge import ProjectDescription
    from codeforge.ai.catalog import CatalogEntry
    from codeforge.app.ai_catalog import Choice
    from codeforge.core.engine import SDLCEngine


def _warn(message: str) -> None:
    click.echo(click.style("warning: ", fg="yellow") + message, err=True)


def _choices(engine: SDLCEngine, paths: tuple[Path, ...]) -> list[Choice]:
    """What the user can generate from: ``--catalog`` folders, built-ins, plugins, registered."""
    from codeforge.app.ai_catalog import user_catalog

    return user_catalog(engine, paths, warn=_warn)


def _entries(choices: list[Choice]) -> list[CatalogEntry]:
    from codeforge.ai.bridge import entry_from_blueprint

    return [entry_from_blueprint(c.blueprint) for c in choices]


def _engine() -> SDLCEngine:
    from codeforge.app.local import local_engine
    from codeforge.settings import load_settings

    return local_engine(load_settings())


catalog_option = click.option(
    "--catalog",
    "catalogs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of blueprints, YAML or TOML (repeatable): ranked with the built-in, "
    "plugin and registered ones.",
)
model_option = click.option(
    "--local-model", default=None, help="Local model: qwen2.5-coder-0.5b (default), smollm2-135m."
)


@click.group("ai")
def ai() -> None:
    """AI helpers: recommend blueprints, fill answers, generate and review code."""


@ai.command()
@click.argument("description")
@catalog_option
@click.option("--top", default=5, show_default=True, type=click.IntRange(1, 50))
@click.option("--method", type=click.Choice(["auto", "embedding", "lexical"]), default="auto")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def recommend(
    description: str, catalogs: tuple[Path, ...], top: int, method: str, as_json: bool
) -> None:
    """Rank the known blueprints for DESCRIPTION."""
    from codeforge.ai.recommend import recommend as rank
    from codeforge.ai.settings import cache_dir

    entries = _entries(_choices(_engine(), catalogs))
    results = rank(description, entries, top=top, cache=cache_dir(), method=method)  # type: ignore[arg-type]
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        "blueprint", "score", "why", title=f"method: {results[0].method if results else method}"
    )
    for r in results:
        table.add_row(r.name, f"{r.score:.2f}", r.reason)
    Console().print(table)


@ai.command()
@click.argument("description")
@catalog_option
@model_option
@click.option("--blueprint", default=None, help="Use this blueprint instead of recommending one.")
def describe(
    description: str, catalogs: tuple[Path, ...], local_model: str | None, blueprint: str | None
) -> None:
    """Pick a blueprint for DESCRIPTION and fill its answers (printed as JSON).

    Answers pass the engine's validation; a value it refuses is dropped (the
    default applies) and listed under ``dropped`` with the reason.
    """
    from codeforge.ai.bridge import describe_project
    from codeforge.ai.provider import open_provider
    from codeforge.ai.recommend import Recommender
    from codeforge.ai.settings import cache_dir, load_ai_settings
    from codeforge.app.ai_catalog import resolver, use_of

    engine = _engine()
    choices = _choices(engine, catalogs)
    with open_provider(load_ai_settings(), local_model=local_model) as provider:
        found = describe_project(
            engine,
            description,
            provider,
            Recommender(cache_dir()),
            blueprint=blueprint,
            catalog=_entries(choices),
            resolve=resolver(engine, choices),
        )
    payload = {
        "blueprint": found.blueprint.name,
        "version": found.blueprint.version,
        "use": use_of(choices, found.blueprint, blueprint),
        "answers": found.answers,
        "dropped": found.dropped,
    }
    click.echo(json.dumps(payload, indent=2))


@ai.command()
@click.argument("description")
@click.option(
    "--into", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="File to add the code to (relative to the project).",
)  # fmt: skip
@click.option(
    "--project", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path(".")
)
@click.option("--dry-run", is_flag=True, help="Show the diff only.")
@click.option("--yes", is_flag=True, help="Write without asking.")
@click.option(
    "--test", "test_cmd", default=None, metavar="CMD",
    help="Run CMD (and ruff) on the generated code in a copy of the project; feed failures "
    "back to the model. Default: the target's own tests (test_NAME.py), when it has some.",
)  # fmt: skip
@click.option(
    "--rounds", type=click.IntRange(0, 10), default=2, show_default=True,
    help="Repair rounds after the first try, when checks fail.",
)  # fmt: skip
@model_option
def generate(
    description: str,
    into: Path | None,
    project: Path,
    dry_run: bool,
    yes: bool,
    test_cmd: str | None,
    rounds: int,
    local_model: str | None,
) -> None:
    """Generate code for DESCRIPTION in the project; shows a diff, writes only when confirmed.

    With --test CMD, or when the target has its own tests, each try runs ruff and the
    tests in a private copy of the project; failures go back to the model for at most
    --rounds more tries. Code that still fails is not written (exit 1).
    """
    from rich.console import Console
    from rich.syntax import Syntax

    from codeforge.ai.codegen import generate_code, write_generated
    from codeforge.ai.provider import open_provider
    from codeforge.ai.repair import generate_repaired, test_command
    from codeforge.ai.settings import load_ai_settings

    target = (project / (into or Path("generated.py"))).resolve()
    command = test_command(project.resolve(), target, test_cmd)
    with open_provider(load_ai_settings(), local_model=local_model) as provider:
        if command:
            repaired = generate_repaired(
                provider, description, project=project, into=into, test=test_cmd,
                rounds=rounds, say=lambda line: click.echo(line, err=True),
            )  # fmt: skip
            gen = repaired.final.gen
        else:
            gen = generate_code(provider, description, project=project, into=into)
    console = Console()
    if gen is not None:
        console.print(Syntax(gen.diff or "(no change)", "diff"))
    if command:
        _repair_outcome(repaired, console)
    assert gen is not None  # a failed outcome raised above
    console.print(f"[dim]checks: {', '.join(gen.checks) or 'none'}[/]")
    if dry_run:
        return
    if not yes and not sys.stdin.isatty():
        console.print("not written (use --yes to write)")
        return
    if not yes and not click.confirm(f"Write {gen.path}?"):
        raise Declined(f"{gen.path} not written: the change was declined")
    write_generated(gen)
    console.print(f"wrote {gen.path}")


def _repair_outcome(repaired: Any, console: Any) -> None:
    """Say what passed; code that still fails is an error (nothing written)."""
    from codeforge.ai.repair import describe_command

    tries = len(repaired.rounds)
    shown = describe_command(repaired.command)
    if repaired.passed:
        names = ", ".join(c.name for c in repaired.final.checks)
        when = "on the first try" if tries == 1 else f"after {tries - 1} repair round(s)"
        console.print(f"passed: {names} (`{shown}`) {when}")
        repaired.final.gen.checks.extend(c.name for c in repaired.final.checks)
        return
    final = repaired.final
    failed = [c.name for c in final.checks if not c.passed] or ["no usable code"]
    raise CodeForgeError(
        f"the generated code still fails ({', '.join(failed)}) after {tries} tries "
        f"with `{shown}`; nothing written",
        hint="give a more precise description, raise --rounds, or use a larger model",
    )


@ai.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "sarif"]), default="table",
    show_default=True,
)  # fmt: skip
@click.option(
    "--fail-on", type=click.Choice(["low", "medium", "high", "critical"]), default=None,
    help="Exit 1 when a finding is at this severity or worse, or a static tool did not run.",
)  # fmt: skip
@click.option("--static-only", is_flag=True, help="ruff and bandit only, no model.")
@click.option(
    "--file-timeout", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
    help="Bound on the model's time per file (default: ai.review_timeout, 60 s).",
)  # fmt: skip
@model_option
def review(
    paths: tuple[Path, ...], fmt: str, fail_on: str | None, static_only: bool,
    file_timeout: float | None, local_model: str | None,
) -> None:  # fmt: skip
    """Review PATHS (default: .) with ruff, bandit and the model.

    Model findings must quote their line, name a CWE and the data flow; the rest are
    dropped (listed under ``dropped``). A model finding no static rule confirms is
    at most ``medium``; ``confirmed_by`` names the rule that agrees.
    """
    from codeforge.ai import review as rv

    targets = list(paths) or [Path(".")]
    if static_only:
        report = rv.review_report(targets, None, static_only=True)
    else:
        from codeforge.ai.model_review import Options
        from codeforge.ai.provider import open_provider
        from codeforge.ai.settings import cache_dir, load_ai_settings

        settings = load_ai_settings()
        options = Options(
            timeout=file_timeout or settings.review_timeout,
            cache=cache_dir() / "review",
            progress=lambda line: click.echo(line, err=True),
        )
        with open_provider(settings, local_model=local_model) as provider:
            report = rv.review_report(targets, provider, options=options)
    _present_review(report, fmt)
    for tool, why in report.not_run.items():
        _warn(f"{tool} did not run ({why})")
    if report.model_lost is not None:
        _model_lost(report)
    if fail_on and rv.at_or_above(report.findings, fail_on):  # type: ignore[arg-type]
        raise click.exceptions.Exit(1)
    if fail_on and report.not_run:
        raise CodeForgeError(
            f"--fail-on {fail_on}: the review is incomplete, {', '.join(report.not_run)} did not run",
            hint="install them (pip install ruff bandit) so that the review can pass",
        )


def _model_lost(report: Any) -> None:
    """The model server went away midway: list what it never saw, then exit 13."""
    from codeforge.ai.errors import AIServerLostError

    for path in report.not_reviewed:
        click.echo(f"not reviewed by the model: {path}", err=True)
    lost = report.model_lost
    raise AIServerLostError(
        f"the model server was lost mid-review ({lost.message}); "
        f"{len(report.not_reviewed)} file(s) not reviewed by the model, the findings so far "
        "are reported above",
        hint="restart the review; files already reviewed come from the cache",
        where=lost.where,
    )


def _present_review(report: Any, fmt: str) -> None:
    from codeforge.ai import review as rv

    if fmt == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    elif fmt == "sarif":
        doc = rv.to_sarif(report.findings, root=Path.cwd())
        rv.validate_sarif(doc)
        click.echo(json.dumps(doc, indent=2))
    else:
        _print_findings(report.findings)
        for d in report.dropped:
            click.echo(f"dropped model finding {d.file}:{d.line}: {d.reason}", err=True)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)


def _print_findings(findings: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("severity", "file:line", "source", "cwe", "message", "confirmed by")
    for f in findings:
        confirmed = f.confirmed_by or ("no (capped at medium)" if f.source == "model" else "")
        table.add_row(f.severity, f"{f.file}:{f.line}", f.source, f.cwe, f.message, confirmed)
    Console().print(table if findings else "no findings")


@ai.command()
@click.option("--model", "model_name", default=None, help="Local model name.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address only.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535))
@click.option("--api-key-env", default=None, help="Name of an env var holding a required API key.")
def serve(model_name: str | None, host: str, port: int, api_key_env: str | None) -> None:
    """Run the local model server in the foreground (Ctrl-C stops it)."""
    import os

    from codeforge.ai.errors import AIUnavailableError
    from codeforge.ai.local import ensure_model, model_spec, serve_forever, xllamacpp_available
    from codeforge.ai.settings import cache_dir, load_ai_settings

    if not xllamacpp_available():
        raise AIUnavailableError("AI is off: the local model server is not installed")
    name = model_name or load_ai_settings().local_model
    spec = model_spec(name)
    path = ensure_model(name, cache_dir())
    key = os.environ.get(api_key_env) if api_key_env else None

    def ready(url: str) -> None:
        click.echo(f"serving {name} on {url}/v1 (OpenAI-compatible); Ctrl-C to stop", err=True)

    serve_forever(
        path, host=host, port=port, api_key=key, n_ctx=spec.n_ctx, alias=name, on_ready=ready
    )


def _show_described(found: ProjectDescription, data: dict[str, Any], *, quiet: bool) -> None:
    """The model's choice on stderr: the blueprint, then each answer and where it came from."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(stderr=True, quiet=quiet)
    console.print(
        f"[bold]blueprint:[/] {escape(found.blueprint.name)} {escape(found.blueprint.version)}"
        f" [dim]({found.result.seconds:.1f} s)[/]",
        highlight=False,
    )
    table = Table("variable", "answer", "from")
    for key, value in found.answers.items():
        table.add_row(key, escape(json.dumps(value)), "model")
    for key, value in data.items():
        table.add_row(key, escape(str(value)), "--data")
    console.print(table if found.answers or data else "no answers from the model: defaults apply")
    for key, why in found.dropped.items():
        console.print(f"[yellow]dropped[/] {escape(key)}: {escape(why)} (the default applies)")


def describe_for_init(
    engine: SDLCEngine,
    description: str,
    name: str,
    template: str | None,
    data: dict[str, Any],
    *,
    confirm: bool,
    accept: bool = False,
    quiet: bool = False,
    catalogs: tuple[Path, ...] = (),
) -> tuple[str, dict[str, Any]]:
    """``init --describe``: the blueprint and ``--data`` to generate with, once accepted.

    The model picks the blueprint (unless ``template``) and fills answers, which pass
    the engine's validation; explicit ``data`` wins over them. Shows the choice, then
    asks (``confirm``) before anything is written; a refusal is :class:`Declined` (exit 14). Without
    a terminal the answers are only taken with ``accept`` (``--defaults``).
    """
    if not confirm and not accept:
        raise UsageError(
            "the model's answers need a confirmation and there is no terminal to ask",
            hint="pass --defaults to accept them without asking",
        )
    from codeforge.core.engine import check_project_name

    check_project_name(name)
    from codeforge.ai.bridge import describe_project
    from codeforge.ai.provider import open_provider
    from codeforge.ai.recommend import Recommender
    from codeforge.ai.settings import cache_dir, load_ai_settings
    from codeforge.app.ai_catalog import resolver, use_of

    choices = _choices(engine, catalogs)
    with open_provider(load_ai_settings()) as provider:
        found = describe_project(
            engine,
            description,
            provider,
            Recommender(cache_dir()),
            blueprint=template,
            explicit=data,
            name=name,
            catalog=_entries(choices),
            resolve=resolver(engine, choices),
        )
    _show_described(found, data, quiet=quiet and not confirm)
    if confirm and not click.confirm("Generate with these answers?", default=True):
        raise Declined("not generated: the answers were declined; nothing was written")
    return use_of(choices, found.blueprint, template), {**found.answers, **data}
