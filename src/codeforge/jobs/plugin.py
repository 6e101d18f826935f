"""The built-in job kinds (``generate``, ``register``, ``publish``, ``workflow``,
``update``, ``review``, ``fleet-update``), registered
as a default plugin."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from codeforge.plugins import hookimpl

if TYPE_CHECKING:
    from codeforge.jobs.kinds import Kind


@hookimpl
def codeforge_job_kinds() -> Sequence[Kind]:
    """The kinds the API and the worker know without any installed plugin."""
    # Imported when asked for: every CLI run builds the plugin manager, and the
    # kinds pull in SQLAlchemy, which `codeforge --help` must not import.
    from codeforge.jobs.kinds import (
        FleetUpdateKind,
        GenerateKind,
        PublishKind,
        RegisterKind,
        ReviewKind,
        UpdateKind,
        WorkflowKind,
    )

    return [
        GenerateKind(),
        RegisterKind(),
        PublishKind(),
        WorkflowKind(),
        UpdateKind(),
        ReviewKind(),
        FleetUpdateKind(),
    ]
