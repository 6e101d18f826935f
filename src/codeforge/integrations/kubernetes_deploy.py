"""The ``k8s.apply`` workflow action: render, build, validate and (with a cluster) apply.

1. Writes the project's manifests into ``deploy/kubernetes/`` (a kustomize base and
   the overlay of ``--env``; :mod:`codeforge.integrations.kubernetes_manifests`).
2. Builds the overlay with ``kubectl kustomize`` and validates every object with
   ``kubernetes-validate --strict`` against ``kube_version``
   (:mod:`codeforge.integrations.kubernetes_check`).
3. When a cluster is configured (the ``context`` input, ``KUBECONFIG`` or
   ``~/.kube/config``), applies them by server-side apply and waits for the
   Deployment's rollout; with ``--down`` deletes them instead
   (:mod:`codeforge.integrations.kubernetes_cluster`). Without one it stops after
   validating and says so (``applied=false``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codeforge.core.sdlc_run import ActionContext
from codeforge.errors import UsageError
from codeforge.integrations import kubernetes_check as check
from codeforge.integrations import kubernetes_cluster as cluster
from codeforge.integrations.kubernetes_build import build
from codeforge.integrations.kubernetes_manifests import Spec, spec_from, write_manifests

DEFAULT_ROLLOUT_TIMEOUT = 300.0


def _rollout_timeout(context: ActionContext) -> float:
    raw = context.inputs.get("rollout_timeout", DEFAULT_ROLLOUT_TIMEOUT)
    try:
        value = float(str(raw))
    except ValueError:
        value = -1.0
    if isinstance(raw, bool) or not 0 < value <= context.timeout:
        raise UsageError(
            f"rollout_timeout must be a number of seconds above 0 and at most the step's "
            f"timeout ({context.timeout:g}), not {raw!r}",
            where=f"workflow.{context.stage}.with.rollout_timeout",
        )
    return value


class K8sApply:
    """``k8s.apply``: the project's Kubernetes manifests, validated, applied when a cluster is set.

    Inputs (all optional): ``image``, ``name``, ``port``, ``health_path``, ``replicas``,
    ``cpu``, ``memory``, ``cpu_limit``, ``memory_limit``, ``secret``, ``secret_keys``,
    ``writable_paths``, ``ingress_host``, ``ingress_class``, ``hpa``, ``hpa_min``,
    ``hpa_max``, ``hpa_cpu``, ``namespace``, ``user``, ``kube_version``, ``context``,
    ``rollout_timeout`` (docs/blueprint-format.md describes them).
    """

    name = "k8s.apply"

    def run(self, context: ActionContext) -> Mapping[str, str]:
        """Render and validate; apply (or delete, with --down) when a cluster is configured."""
        spec = spec_from(context.inputs, context.project, context.environment, context.stage)
        kube_version = str(context.inputs.get("kube_version", "")).strip()
        timeout = _rollout_timeout(context)
        target = cluster.find_cluster(str(context.inputs.get("context", "")).strip())
        docs, outputs = _render(context, spec, kube_version or check.DEFAULT_KUBE_VERSION)
        if target is None:
            context.info(
                "no cluster configured (no --context, KUBECONFIG or ~/.kube/config): "
                "rendered and validated only"
            )
            return {**outputs, "applied": "false"}
        cluster.check_kinds(docs)
        api, namespace = cluster.connect(target)
        namespace = spec.namespace or namespace
        outputs |= {"namespace": namespace, "context": target.context or "current"}
        if context.down:
            deleted = cluster.delete(api, docs, namespace, context.info)
            return {**outputs, "applied": "false", "deleted": str(deleted)}
        cluster.apply(api, docs, namespace, context.info)
        outputs |= {"applied": "true", "objects": ",".join(_names(docs))}
        for doc in docs:
            if doc.get("kind") == "Deployment":
                name, ns = doc["metadata"]["name"], doc["metadata"].get("namespace") or namespace
                progress = cluster.wait_rollout(api, name, ns, timeout, context.info)
                context.info(f"deployment/{name} rolled out: {progress}")
                outputs["rollout"] = progress
        return outputs


def _render(
    context: ActionContext, spec: Spec, kube_version: str
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Write the manifests, build the overlay, validate it: the objects to apply, the outputs."""
    overlay, written, kept = write_manifests(context.project, spec)
    for path in kept:
        context.info(f"kept your {path} (no codeforge marker on its first line)")
    kubectl = check.find_kubectl()
    if kubectl is not None:
        built = check.kustomize(kubectl, overlay)
    elif kept:
        raise check.no_kubectl(kept)
    else:  # every file is ours: what kustomize would build, computed here
        context.info("kubectl is not installed: building the generated overlay in Python")
        built = build(spec)
    used = check.validate(built, overlay, context.project, kube_version)
    rel = str(overlay.relative_to(context.project))
    context.info(
        f"{rel}: {len(built)} objects valid for Kubernetes {used} ({len(written)} files changed)"
    )
    docs = [check.strip_origin(doc) for doc in built]
    return docs, {"manifests": rel, "kube_version": used, "image": spec.image}


def _names(docs: list[dict[str, Any]]) -> list[str]:
    return [
        f"{str(d.get('kind', '')).lower()}/{d.get('metadata', {}).get('name', '')}" for d in docs
    ]
