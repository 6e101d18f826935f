"""The built-in integrations (the ``local`` credential store, GitHub, GitLab, the package
and container workflow actions) as a default plugin."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from codeforge.plugins import hookimpl

if TYPE_CHECKING:
    from codeforge.core.credentials import CredentialStoreFactory, Forge
    from codeforge.core.sdlc_run import ActionContext, WorkflowAction


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


# The built-in workflow actions: name -> (module, class), imported when a step calls one
# (a docker deploy never loads the Kubernetes or packaging modules).
_ACTIONS = {
    "package.build": ("codeforge.integrations.packaging", "PackageBuild"),
    "package.upload": ("codeforge.integrations.packaging", "PackageUpload"),
    "docker.build": ("codeforge.integrations.containers.build", "DockerBuild"),
    "docker.run": ("codeforge.integrations.containers.run", "DockerRun"),
    "compose.up": ("codeforge.integrations.containers.compose", "ComposeUp"),
    "k8s.apply": ("codeforge.integrations.kubernetes_deploy", "K8sApply"),
}


class LazyAction:
    """A built-in workflow action whose module is imported on its first run."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._action: WorkflowAction | None = None

    def load(self) -> WorkflowAction:
        """The action itself (its module imported now)."""
        if self._action is None:
            module, attribute = _ACTIONS[self.name]
            self._action = getattr(importlib.import_module(module), attribute)()
        return self._action

    def run(self, context: ActionContext) -> Mapping[str, str]:
        """Run the action."""
        return self.load().run(context)


@hookimpl
def codeforge_workflow_actions() -> Sequence[WorkflowAction]:
    """The built-in workflow actions: ``package.build``, ``package.upload``, ``docker.build``,
    ``docker.run``, ``compose.up`` and ``k8s.apply``."""
    return [LazyAction(name) for name in _ACTIONS]
