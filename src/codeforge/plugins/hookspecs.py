"""Every hook a CodeForge plugin can implement, in one place.

Each hook is named ``codeforge_<what>``. Hooks that contribute things (commands,
routers, kinds, filters, ...) return them and are collected from every plugin;
lifecycle hooks receive one event object and return nothing. An implementation
may leave out arguments it does not need, as pluggy allows. docs/plugins.md
documents each hook; tests/plugins/test_hookspecs.py fails when one is missing there.

Hooks marked *spec only* have no caller yet: the issues that add forges, CI,
deployment and AI providers wire them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

from codeforge.plugins import PROJECT

if TYPE_CHECKING:  # type-only: the hooks name adapter types without importing adapters
    import click
    from fastapi import APIRouter

    from codeforge.core.artifacts import ArtifactStoreFactory
    from codeforge.core.credentials import CredentialStoreFactory, Forge
    from codeforge.core.lifecycle import GenerateEvent, PublishEvent, RenderEvent, UpdateEvent
    from codeforge.core.pipelines import CIProvider
    from codeforge.core.postprocess import Formatter, PostProcessor
    from codeforge.core.sdlc_run import WorkflowAction
    from codeforge.jobs.kinds import Kind

hookspec = pluggy.HookspecMarker(PROJECT)

JinjaCallable = Callable[..., Any]


class BlueprintSource(Protocol):
    """A place blueprints come from, asked for as ``PREFIX:rest`` after ``-t``."""

    prefix: str  # e.g. "s3:"; must end with ":" and not clash with gh:, gl:, plugin:, builtin:

    def fetch(self, ref: str) -> Path:
        """The local folder holding the blueprint for ``ref`` (the part after the prefix)."""


# --- adapters ---------------------------------------------------------------


@hookspec
def codeforge_register_commands(cli: click.Group) -> None:
    """Add Click commands or groups to the ``codeforge`` command with ``cli.add_command``.

    Built-in commands stay in the CLI's lazy table so that ``codeforge --help``
    imports none of them; a plugin command may not take a built-in's name.
    """


@hookspec
def codeforge_api_routers() -> Sequence[APIRouter]:
    """FastAPI routers to mount in the API app (paths are used as given)."""


@hookspec
def codeforge_job_kinds() -> Sequence[Kind]:
    """Job kinds (objects with ``name``, ``role``, ``check`` and ``run``) the queue can run."""


# --- blueprints and rendering ----------------------------------------------


@hookspec
def codeforge_blueprint_sources() -> Sequence[BlueprintSource]:
    """Places blueprints come from, each under its own ``PREFIX:`` (spec only)."""


@hookspec
def codeforge_dialects() -> Sequence[object]:
    """Blueprint dialects (objects following ``codeforge.core.dialect.Dialect``)."""


@hookspec
def codeforge_jinja_filters() -> Mapping[str, JinjaCallable]:
    """Jinja filters by name, offered to trusted blueprints only."""


@hookspec
def codeforge_jinja_tests() -> Mapping[str, JinjaCallable]:
    """Jinja tests by name, offered to trusted blueprints only."""


@hookspec
def codeforge_jinja_globals() -> Mapping[str, object]:
    """Jinja globals by name, offered to trusted blueprints only."""


@hookspec
def codeforge_post_processors() -> Sequence[PostProcessor]:
    """Callables ``(plan, event)`` (a RenderEvent) that change every rendered plan before it is written."""


@hookspec
def codeforge_formatters() -> Mapping[str, Formatter]:
    """Formatters by name, run when a blueprint lists that name under ``formatters``."""


# --- lifecycle events ---------------------------------------------------------


@hookspec
def codeforge_before_render(event: RenderEvent) -> None:
    """Answers are final and rendering starts."""


@hookspec
def codeforge_after_generate(event: GenerateEvent) -> None:
    """A project or component was generated (or planned, in a dry run)."""


@hookspec
def codeforge_after_update(event: UpdateEvent) -> None:
    """An update was merged into a project."""


@hookspec
def codeforge_after_publish(event: PublishEvent) -> None:
    """A project was published (spec only until publishing lands)."""


# --- integrations (spec only: filled by the issues that add them) -------------


@hookspec
def codeforge_forges() -> Sequence[Forge]:
    """Code forges (GitHub, GitLab, Gitea, ...): objects following ``codeforge.core.credentials.Forge``.

    Each has a unique ``name`` (the PROVIDER of ``codeforge credentials``), a
    ``default_host``, the ``token_env`` variable honoured in CI, and ``whoami``.
    """


@hookspec
def codeforge_ci_providers() -> Sequence[CIProvider]:
    """CI providers a blueprint's ``pipeline.provider`` can name, each with a unique ``name``.

    Objects following ``codeforge.core.pipelines.CIProvider``: a ``name`` and a
    ``template_dir`` rendered into the project with the blueprint's context plus
    ``pipeline``. Built in: ``github``, ``gitlab``, ``jenkins``.
    """


@hookspec
def codeforge_workflow_actions() -> Sequence[WorkflowAction]:
    """Actions a blueprint's ``workflow`` steps name under ``action``, each with a unique ``name``.

    Objects following ``codeforge.core.sdlc.WorkflowAction``: a ``name`` (dotted,
    like ``package.build``) and ``run(context)`` returning the step's outputs. Built
    in: ``package.build`` and ``package.upload``.
    """


@hookspec
def codeforge_deploy_targets() -> Sequence[object]:
    """Deploy targets (Docker, Compose, Kubernetes, ...) (spec only)."""


@hookspec
def codeforge_credential_stores() -> Sequence[CredentialStoreFactory]:
    """Stores for integration credentials (encrypted at rest), each with a unique ``name``.

    Objects following ``codeforge.core.credentials.CredentialStoreFactory``; the CLI
    opens the one that ``CODEFORGE_CREDENTIAL_STORE`` names (default ``local``).
    """


@hookspec
def codeforge_artifact_stores() -> Mapping[str, ArtifactStoreFactory]:
    """Artifact store factories by URL scheme (``file``, ``s3``, ...): ``factory(url, environ)``
    makes the store ``CODEFORGE_ARTIFACTS_URL`` names (job results, blueprint archives)."""


@hookspec
def codeforge_ai_providers() -> Sequence[object]:
    """AI providers (local model, OpenAI-compatible endpoints, ...) (spec only)."""
