"""What ``kubectl kustomize`` builds from the generated overlay, computed in Python.

Used when kubectl is not installed and every file under ``deploy/kubernetes`` is
still CodeForge's own (a file the user took over needs the real kustomize). It
applies what the generated kustomizations say: the base's and the overlay's labels,
the image, the namespace, the overlay's strategic-merge patches and the origin
annotations, in kustomize's (legacy) kind order. The tests compare it with
``kubectl kustomize`` object by object.
"""

from __future__ import annotations

import copy
from typing import Any

from codeforge.integrations.kubernetes_check import ORIGIN
from codeforge.integrations.kubernetes_manifests import Spec, base_objects, patches, split_image

# kustomize's legacy order for the kinds CodeForge generates
_ORDER = ("ConfigMap", "Service", "Deployment", "HorizontalPodAutoscaler", "Ingress")


def _merge(into: dict[str, Any], patch: dict[str, Any]) -> None:
    """A strategic merge of maps (the generated patches hold no lists)."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)


def _image(spec: Spec) -> str:
    name, tag, digest = split_image(spec.image)
    return f"{name}@{digest}" if digest else f"{name}:{tag}" if tag else name


def build(spec: Spec) -> list[dict[str, Any]]:
    """The objects of ``spec``'s overlay, as ``kubectl kustomize`` would print them."""
    built = []
    for file, obj in base_objects(spec).items():
        doc = copy.deepcopy(obj)
        meta = doc["metadata"]
        meta["labels"] = {
            **meta.get("labels", {}),
            "app.kubernetes.io/managed-by": "codeforge",
            "app.kubernetes.io/environment": spec.environment,
        }
        meta["annotations"] = {ORIGIN: f"path: ../../base/{file}\n"}
        if spec.namespace:
            meta["namespace"] = spec.namespace
        for patch in patches(spec):
            if (patch["kind"], patch["metadata"]["name"]) == (doc["kind"], meta["name"]):
                _merge(doc, {k: v for k, v in patch.items() if k != "metadata"})
        if doc["kind"] == "Deployment":
            template = doc["spec"]["template"]
            template["metadata"]["labels"]["app.kubernetes.io/environment"] = spec.environment
            for container in template["spec"]["containers"]:
                if container["image"] == spec.name:
                    container["image"] = _image(spec)
        built.append(doc)
    return sorted(built, key=lambda d: _ORDER.index(d["kind"]))
