"""Apply built objects to a cluster with the official ``kubernetes`` client, wait, take down.

Every object goes through server-side apply: a PATCH with the content type
``application/apply-patch+yaml``, ``fieldManager=codeforge`` and ``force=true`` on the
typed API of its kind (no discovery needed). The rollout wait reads the
Deployment's status until the controller has seen the new generation and every
replica is updated and available. ``--down`` deletes the same objects, newest kind first.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codeforge.core.steps import StepFailed
from codeforge.errors import UsageError

FIELD_MANAGER = "codeforge"
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
REQUEST_TIMEOUT = 30.0
POLL = 0.5
# (apiVersion, kind) -> (the typed API class, its method suffix)
KINDS = {
    ("v1", "ConfigMap"): ("CoreV1Api", "config_map"),
    ("v1", "Service"): ("CoreV1Api", "service"),
    ("v1", "ServiceAccount"): ("CoreV1Api", "service_account"),
    ("apps/v1", "Deployment"): ("AppsV1Api", "deployment"),
    ("networking.k8s.io/v1", "Ingress"): ("NetworkingV1Api", "ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy"): ("NetworkingV1Api", "network_policy"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"): (
        "AutoscalingV2Api",
        "horizontal_pod_autoscaler",
    ),
    ("policy/v1", "PodDisruptionBudget"): ("PolicyV1Api", "pod_disruption_budget"),
}


@dataclasses.dataclass(frozen=True)
class Cluster:
    """Where to apply: a kubeconfig (None: KUBECONFIG's files, else ~/.kube/config) and context."""

    config_file: str | None
    context: str | None


def find_cluster(context: str) -> Cluster | None:
    """The cluster named by ``context`` or a present kubeconfig; None when none is configured."""
    listed = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p.strip()]
    present = [p for p in listed if Path(p).expanduser().is_file()]
    default = Path("~/.kube/config").expanduser()
    if present:
        config_file = None  # the client merges KUBECONFIG's files itself
    elif not listed and default.is_file():
        config_file = str(default)
    elif context:
        raise UsageError(
            f"no kubeconfig to find the context {context!r} in",
            where="--context",
            hint="set KUBECONFIG to your kubeconfig file (or create ~/.kube/config)",
        )
    else:
        return None
    return Cluster(config_file, context or None)


def _client(module: str = "client") -> Any:
    """``kubernetes.<module>``, loaded when a cluster is used (untyped here: its generated
    models and signatures differ between client versions; this module uses few of them)."""
    if importlib.util.find_spec("kubernetes") is None:
        raise UsageError(
            "k8s.apply needs the `kubernetes` package beside CodeForge to apply to a cluster",
            hint="pip install 'codeforge[k8s]'",
        )
    return importlib.import_module(f"kubernetes.{module}")


def connect(cluster: Cluster) -> tuple[Any, str]:
    """An API client for the cluster and the context's default namespace."""
    config = _client("config")
    bad_config = _client("config.config_exception").ConfigException

    try:
        api = config.new_client_from_config(
            config_file=cluster.config_file, context=cluster.context, persist_config=False
        )
        contexts, active = config.list_kube_config_contexts(config_file=cluster.config_file)
    except (bad_config, OSError, ValueError) as exc:
        raise UsageError(
            f"cannot use the kubeconfig: {exc}",
            where=cluster.config_file or os.environ.get("KUBECONFIG") or "kubeconfig",
            hint="check the --context name and the kubeconfig file",
        ) from exc
    chosen = next((c for c in contexts if c.get("name") == cluster.context), active)
    namespace = str((chosen or {}).get("context", {}).get("namespace") or "default")
    return api, namespace


def check_kinds(docs: list[dict[str, Any]]) -> None:
    """Refuse, before anything is sent, an object of a kind this action does not apply."""
    for doc in docs:
        key = (str(doc.get("apiVersion")), str(doc.get("kind")))
        if key not in KINDS:
            name = doc.get("metadata", {}).get("name", "")
            raise UsageError(
                f"k8s.apply cannot apply {key[1]} ({key[0]}) {name}".rstrip(),
                hint=f"kinds it applies: {', '.join(f'{k} ({v})' for v, k in KINDS)}",
            )


def _api(api_client: Any, doc: dict[str, Any], verb: str) -> Callable[..., Any]:
    cls, suffix = KINDS[(str(doc.get("apiVersion")), str(doc.get("kind")))]
    method: Callable[..., Any] = getattr(
        getattr(_client(), cls)(api_client), f"{verb}_namespaced_{suffix}"
    )
    return method


def _failed(exc: Exception, what: str, server: str) -> StepFailed:
    status = getattr(exc, "status", None)
    if status is None:  # no answer at all
        return StepFailed(f"{what}: cannot reach the cluster at {server}: {exc}")
    body = getattr(exc, "body", "") or ""
    try:
        message = json.loads(body).get("message", body)
    except (ValueError, AttributeError):
        message = body
    return StepFailed(
        f"{what}: the API server answered {status} {getattr(exc, 'reason', '')}: {message}".rstrip(
            ": "
        )
    )


def _name(doc: dict[str, Any]) -> str:
    return f"{str(doc['kind']).lower()}/{doc['metadata']['name']}"


def apply(
    api_client: Any, docs: list[dict[str, Any]], namespace: str, info: Callable[[str], None]
) -> None:
    """Server-side apply each object, in order (ConfigMaps before the Deployment that reads them)."""
    server = api_client.configuration.host
    for doc in docs:
        ns = doc["metadata"].get("namespace") or namespace
        body = {**doc, "metadata": {**doc["metadata"], "namespace": ns}}
        try:
            _api(api_client, doc, "patch")(
                doc["metadata"]["name"],
                ns,
                body,
                field_manager=FIELD_MANAGER,
                force=True,
                _content_type=APPLY_CONTENT_TYPE,
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except Exception as exc:  # the client's ApiException, urllib3's errors
            raise _failed(exc, f"applying {_name(doc)}", server) from exc
        info(f"applied {_name(doc)} in {ns}")


def delete(
    api_client: Any, docs: list[dict[str, Any]], namespace: str, info: Callable[[str], None]
) -> int:
    """Delete each object, last first; returns how many existed."""
    server, deleted = api_client.configuration.host, 0
    for doc in reversed(docs):
        ns = doc["metadata"].get("namespace") or namespace
        try:
            _api(api_client, doc, "delete")(
                doc["metadata"]["name"],
                ns,
                propagation_policy="Background",
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
        except Exception as exc:
            if getattr(exc, "status", None) == 404:
                continue
            raise _failed(exc, f"deleting {_name(doc)}", server) from exc
        deleted += 1
        info(f"deleted {_name(doc)} in {ns}")
    return deleted


def rolled_out(deployment: dict[str, Any]) -> tuple[bool, str]:
    """Whether the Deployment's rollout is complete, and how far it is."""
    spec, status = deployment.get("spec", {}), deployment.get("status", {}) or {}
    want = int(spec.get("replicas", 1))
    seen = int(status.get("observedGeneration", 0)) >= int(
        deployment.get("metadata", {}).get("generation", 1)
    )
    updated = int(status.get("updatedReplicas", 0))
    available = int(status.get("availableReplicas", 0))
    total = int(status.get("replicas", 0))
    for condition in status.get("conditions", []) or []:
        if (
            condition.get("type") == "Progressing"
            and condition.get("reason") == "ProgressDeadlineExceeded"
        ):
            raise StepFailed(
                f"the rollout stopped: {condition.get('message', 'progress deadline exceeded')}"
            )
    done = seen and updated >= want and available >= want and total <= updated
    return done, f"{updated}/{want} updated, {available}/{want} available"


def wait_rollout(
    api_client: Any, name: str, namespace: str, timeout: float, info: Callable[[str], None]
) -> str:
    """Poll the Deployment's status until its rollout completes; its progress when it does."""
    apps = _client().AppsV1Api(api_client)
    deadline, said = time.monotonic() + timeout, ""
    while True:
        try:
            answer = apps.read_namespaced_deployment_status(
                name, namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT
            )
            deployment = json.loads(answer.data)
        except Exception as exc:
            raise _failed(exc, f"reading deployment/{name}", api_client.configuration.host) from exc
        done, progress = rolled_out(deployment)
        if done:
            return progress
        if progress != said:
            info(f"rollout of deployment/{name}: {progress}")
            said = progress
        if time.monotonic() > deadline:
            raise StepFailed(
                f"the rollout of deployment/{name} in {namespace} did not finish in {timeout:g} s: {progress}"
            )
        time.sleep(POLL)
