"""``codeforge update --pr``: wiring and output (the use case is :mod:`codeforge.app.update_pr`).

The forge clients and git plumbing are imported only when a pull request is made.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from codeforge.cli.common import CliReporter, echo_conflicts, echo_json, settings_from

if TYPE_CHECKING:
    from codeforge.app.update_pr import UpdatePull, UpdatePullResult
    from codeforge.core.update import UpdateOptions


def update_pull_case(ctx: click.Context, *, quiet: bool = True) -> UpdatePull:
    """The ``update --pr`` use case with this user's credentials and settings."""
    from codeforge.app.forge_access import ForgeOpener, local_update_pull
    from codeforge.cli.credentials import _store
    from codeforge.cli.plugins import plugins_from
    from codeforge.core.credentials import OpenOnUse

    store = OpenOnUse(lambda: _store(ctx))  # GITHUB_TOKEN / GITLAB_TOKEN need no store
    opener = ForgeOpener(plugins_from(ctx).forges().values(), store, os.environ)
    return local_update_pull(settings_from(ctx), opener, CliReporter(quiet=quiet))


def describe(result: UpdatePullResult) -> str:
    """One line saying what happened."""
    head = f"{result.blueprint} {result.from_version} → {result.to_version}"
    if result.action == "up-to-date" or result.pull is None:
        return f"{head}: nothing to change, no pull request."
    verbs = {"opened": "opened", "updated": "updated", "unchanged": "unchanged"}
    return (
        f"{head}: {len(result.changed)} file(s) on {result.branch}; "
        f"pull request #{result.pull.number} {verbs[result.action]}: {result.pull.web_url}"
    )


def update_with_pull(
    ctx: click.Context, path: Path, options: UpdateOptions, *, quiet: bool, as_json: bool
) -> UpdatePullResult:
    """Run ``update --pr`` for ``path`` and show the result."""
    result = update_pull_case(ctx, quiet=quiet or as_json).run(path, options)
    if as_json:
        echo_json(result.to_dict())
    else:
        click.echo(describe(result))
        if result.conflicts:
            echo_conflicts(result.conflicts, "resolve them on the branch.")
    return result
