"""Build an overlay with ``kubectl kustomize`` and validate each object with kubernetes-validate.

``kubectl`` comes from ``CODEFORGE_KUBECTL`` or the PATH. Each built object carries
kustomize's origin annotation (the overlay asks for it), so a validation error names
the file the object came from, its resource and the field, in kubernetes-validate's
own words; the annotation is dropped from what is applied.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from codeforge.core.steps import StepFailed
from codeforge.errors import UsageError

ORIGIN = "config.kubernetes.io/origin"
DEFAULT_KUBE_VERSION = "1.32"
KUSTOMIZE_TIMEOUT = 120.0


def find_kubectl() -> str | None:
    """The kubectl to build overlays with: CODEFORGE_KUBECTL, else the PATH's (None: none)."""
    named = os.environ.get("CODEFORGE_KUBECTL", "").strip()
    if not named:
        return shutil.which("kubectl")
    found = shutil.which(named)
    if found is None:
        raise UsageError(
            f"CODEFORGE_KUBECTL names {named!r}, which is not an executable",
            where="CODEFORGE_KUBECTL",
            hint="set it to kubectl's path, or unset it to use the PATH's kubectl",
        )
    return found


def no_kubectl(kept: list[str]) -> UsageError:
    """Why the overlay cannot be built here."""
    return UsageError(
        "k8s.apply needs kubectl to build the kustomize overlay: kubectl is not on the PATH, "
        f"and {', '.join(kept)} {'is' if len(kept) == 1 else 'are'} your own",
        hint="install kubectl on the PATH, or set CODEFORGE_KUBECTL to its path",
    )


def kustomize(kubectl: str, overlay: Path) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize`` builds from ``overlay``, in order."""
    argv = [kubectl, "kustomize", str(overlay)]
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=KUSTOMIZE_TIMEOUT,
            check=False,
            # Building needs no cluster: an empty kubeconfig keeps kubectl from asking one.
            env={**os.environ, "KUBECONFIG": os.devnull},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"kubectl kustomize failed: {exc}", where=str(overlay)) from exc
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise StepFailed(
            f"kubectl kustomize cannot build {overlay}: {lines[-1] if lines else done.returncode}",
            tail=lines[-20:],
        )
    try:
        docs = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
    except yaml.YAMLError as exc:
        raise UsageError(
            f"kubectl kustomize gave unreadable YAML: {exc}", where=str(overlay)
        ) from exc
    return [doc for doc in docs if isinstance(doc, dict)]


def origin_of(doc: dict[str, Any], overlay: Path, project: Path) -> str:
    """The file (relative to the project) that ``doc`` came from, by its origin annotation."""
    annotations = doc.get("metadata", {}).get("annotations") or {}
    raw = annotations.get(ORIGIN, "")
    try:
        origin = yaml.safe_load(raw) if raw else {}
    except yaml.YAMLError:
        origin = {}
    path = origin.get("path") if isinstance(origin, dict) else None
    if not isinstance(path, str):
        return str(overlay.relative_to(project))
    resolved = Path(os.path.normpath(overlay / path))
    try:
        return str(resolved.relative_to(project))
    except ValueError:
        return str(resolved)


def strip_origin(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` without the origin annotation (and without annotations if none is left)."""
    metadata = dict(doc.get("metadata", {}))
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items() if k != ORIGIN}
    if annotations:
        metadata["annotations"] = annotations
    else:
        metadata.pop("annotations", None)
    return {**doc, "metadata": metadata}


def _resource(doc: dict[str, Any]) -> str:
    return f"{str(doc.get('kind', '?')).lower()}/{doc.get('metadata', {}).get('name', '?')}"


def validate(docs: list[dict[str, Any]], overlay: Path, project: Path, kube_version: str) -> str:
    """Check every object with kubernetes-validate --strict; returns the schema version used.

    An invalid object is a usage error with kubernetes-validate's message: the file,
    the resource, the version, the field's path and what is wrong with it.
    """
    if importlib.util.find_spec("kubernetes_validate") is None:
        raise UsageError(
            "k8s.apply needs the `kubernetes-validate` package beside CodeForge",
            hint="pip install 'codeforge[k8s]'",
        )
    from kubernetes_validate import utils

    used = kube_version
    for doc in docs:
        where = origin_of(doc, overlay, project)
        try:
            used = utils.validate(doc, kube_version, strict=True)
        except utils.ValidationError as exc:
            field = ".".join(str(item) for item in exc.path)
            said = (
                f"{where} did not validate for resource {_resource(doc)} against version "
                f"{exc.version}: {field}: {exc.message}"
            )
            raise StepFailed(
                f"invalid manifest: {said}",
                tail=(f"ERROR {said}",),
                hint=f"fix {field or 'the object'} in {where} (kubernetes-validate --strict, "
                f"Kubernetes {exc.version})",
            ) from exc
        except utils.VersionNotSupportedError as exc:
            raise UsageError(
                f"kubernetes-validate does not support Kubernetes {kube_version}",
                where="kube_version",
                hint=f"one of {', '.join(utils.all_versions()[-5:])} (or earlier)",
            ) from exc
        except (utils.SchemaNotFoundError, utils.InvalidSchemaError) as exc:
            raise StepFailed(f"invalid manifest: {where}: {exc.message}") from exc
    return str(used)
