"""The built-in integrations (the ``local`` credential store, GitHub, GitLab, the package
and container workflow actions) as a default plugin."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from codeforge.plugins import hookimpl

if TYPE_CHECKING:
    from codeforge.core.credentials import CredentialStoreFactory, Forge
    from codeforge.core.sdlc import WorkflowAction


@hookimpl
def codeforge_credential_stores() -> Sequence[CredentialStoreFactory]:
    """The built-in ``local`` store: sealed tokens in the config folder."""
    # Imported when asked for: every CLI run builds the plugin manager, and only
    # the credential commands need the cryptography stack.
    from codeforge.integrations.credentials import LocalStoreFactory

    return [LocalStoreFactory()]


@hookimpl
def codeforge_forges() -> Sequence[Forge]:
    """The built-in forges: GitHub and GitLab."""
    from codeforge.integrations.forge_gitlab import PublishingGitLab
    from codeforge.integrations.forge_repos import PublishingGitHub

    return [PublishingGitHub(), PublishingGitLab()]


@hookimpl
def codeforge_workflow_actions() -> Sequence[WorkflowAction]:
    """The built-in workflow actions: ``package.build``, ``package.upload``, ``docker.build``,
    ``docker.run``, ``compose.up`` and ``k8s.apply``."""
    from codeforge.integrations.containers.build import DockerBuild
    from codeforge.integrations.containers.compose import ComposeUp
    from codeforge.integrations.containers.run import DockerRun
    from codeforge.integrations.kubernetes_deploy import K8sApply
    from codeforge.integrations.packaging import PackageBuild, PackageUpload

    return [PackageBuild(), PackageUpload(), DockerBuild(), DockerRun(), ComposeUp(), K8sApply()]
