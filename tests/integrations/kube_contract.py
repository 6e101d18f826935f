"""A contract server for the Kubernetes API endpoints ``k8s.apply`` uses.

A thread in the test process on 127.0.0.1 that answers as kube-apiserver documents
it, for the kinds CodeForge emits (ConfigMap, Service, Deployment, Ingress,
HorizontalPodAutoscaler):

* ``PATCH {prefix}/namespaces/{ns}/{plural}/{name}`` with ``Content-Type:
  application/apply-patch+yaml`` (server-side apply): ``fieldManager`` is required
  (400 otherwise, as the server says), the body is YAML (JSON is YAML), its kind,
  apiVersion, name and namespace must match the path (400), other patch types are
  415 here (CodeForge only applies); the object is created or replaced, its
  ``metadata.generation`` moves on a changed spec, ``managedFields`` names the manager.
* ``GET .../deployments/{name}/status`` (and the object itself): a Deployment's status
  lags one read behind each apply, as a controller would (``observedGeneration`` and
  the replica counts catch up on the second read); ``never_ready`` keeps it behind.
* ``DELETE`` any object: 200 with the ``Status`` of success, 404 ``NotFound`` when absent.
* ``GET /version``, ``/api``, ``/apis`` (discovery, for clients that ask).

Every request needs ``Authorization: Bearer TOKEN`` (401 otherwise). It records each
request (method, path, query, headers, body) for the tests to assert on.

Sources: kubernetes.io/docs/reference/using-api/server-side-apply/,
kubernetes.io/docs/reference/using-api/api-concepts/,
kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

TOKEN = "contract-token"
APPLY = "application/apply-patch+yaml"
# (group/version prefix, plural) -> (apiVersion, kind)
KINDS = {
    ("/api/v1", "configmaps"): ("v1", "ConfigMap"),
    ("/api/v1", "services"): ("v1", "Service"),
    ("/apis/apps/v1", "deployments"): ("apps/v1", "Deployment"),
    ("/apis/networking.k8s.io/v1", "ingresses"): ("networking.k8s.io/v1", "Ingress"),
    ("/apis/autoscaling/v2", "horizontalpodautoscalers"): (
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
    ),
}
OBJECT_PATH = re.compile(
    r"^(?P<prefix>/api/v1|/apis/[^/]+/[^/]+)/namespaces/(?P<ns>[a-z0-9-]+)/"
    r"(?P<plural>[a-z]+)/(?P<name>[a-z0-9.-]+)(?P<sub>/status)?$"
)


@dataclasses.dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclasses.dataclass
class KubeContract:
    """The server's state: objects by (prefix, plural, namespace, name), and the requests."""

    url: str = ""
    objects: dict[tuple[str, str, str, str], dict[str, Any]] = dataclasses.field(
        default_factory=dict
    )
    requests: list[Recorded] = dataclasses.field(default_factory=list)
    lagging: set[tuple[str, str, str, str]] = dataclasses.field(default_factory=set)
    never_ready: bool = False
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def kubeconfig(self, path: Path, namespace: str = "apps") -> Path:
        """A kubeconfig whose context ``contract`` points at this server with its token."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "contract", "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": {"token": TOKEN}}],
            "contexts": [
                {
                    "name": "contract",
                    "context": {"cluster": "contract", "user": "tester", "namespace": namespace},
                }
            ],
            "current-context": "contract",
        }
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        return path

    def applied(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "PATCH"]


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure" if code >= 400 else "Success",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _deployment_status(obj: dict[str, Any], ready: bool) -> dict[str, Any]:
    want = int(obj["spec"].get("replicas", 1))
    generation = obj["metadata"]["generation"]
    if not ready:
        return {"observedGeneration": generation - 1, "replicas": want, "updatedReplicas": 0}
    return {
        "observedGeneration": generation,
        "replicas": want,
        "updatedReplicas": want,
        "readyReplicas": want,
        "availableReplicas": want,
        "conditions": [{"type": "Available", "status": "True"}],
    }


class _Handler(BaseHTTPRequestHandler):
    contract: KubeContract

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read the recorded requests."""

    def _reply(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> Recorded:
        length = int(self.headers.get("Content-Length") or 0)
        split = urlsplit(self.path)
        recorded = Recorded(
            self.command,
            split.path,
            parse_qs(split.query),
            {k.lower(): v for k, v in self.headers.items()},
            self.rfile.read(length) if length else b"",
        )
        with self.contract.lock:
            self.contract.requests.append(recorded)
        return recorded

    def _handle(self) -> None:
        request = self._record()
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            self._reply(401, _status(401, "Unauthorized", "Unauthorized"))
            return
        discovery = {
            "/version": {"major": "1", "minor": "32", "gitVersion": "v1.32.0"},
            "/api": {"kind": "APIVersions", "versions": ["v1"]},
            "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []},
        }
        if request.method == "GET" and request.path in discovery:
            self._reply(200, discovery[request.path])
            return
        found = OBJECT_PATH.match(request.path)
        if found is None or (found["prefix"], found["plural"]) not in KINDS:
            self._reply(404, _status(404, "NotFound", f"the server could not find {request.path}"))
            return
        key = (found["prefix"], found["plural"], found["ns"], found["name"])
        with self.contract.lock:
            code, body = getattr(self, f"_{request.method.lower()}")(request, found, key)
        self._reply(code, body)

    do_GET = do_PATCH = do_DELETE = _handle

    def _patch(
        self, request: Recorded, found: re.Match[str], key: tuple[str, str, str, str]
    ) -> tuple[int, dict[str, Any]]:
        if request.headers.get("content-type") != APPLY:
            return 415, _status(415, "UnsupportedMediaType", "only server-side apply here")
        manager = request.query.get("fieldManager", [""])[0]
        if not manager:
            message = "PatchOptions.meta.k8s.io is invalid: fieldManager: Required value: is required for apply patch"
            return 400, _status(400, "BadRequest", message)
        try:
            obj = yaml.safe_load(request.body)
        except yaml.YAMLError as exc:
            return 400, _status(400, "BadRequest", f"error decoding YAML: {exc}")
        api_version, kind = KINDS[(found["prefix"], found["plural"])]
        meta = obj.get("metadata", {}) if isinstance(obj, dict) else {}
        expected = (api_version, kind, found["name"], found["ns"])
        got = (obj.get("apiVersion"), obj.get("kind"), meta.get("name"), meta.get("namespace"))
        if got != expected:
            return 400, _status(400, "BadRequest", f"the object {got} does not match {expected}")
        old = self.contract.objects.get(key)
        stored = copy.deepcopy(obj)
        generation = 1
        if old is not None:
            generation = old["metadata"]["generation"]
            if old.get("spec") != stored.get("spec"):
                generation += 1
        stored["metadata"] |= {
            "uid": old["metadata"]["uid"] if old else str(uuid.uuid4()),
            "generation": generation,
            "managedFields": [{"manager": manager, "operation": "Apply"}],
        }
        if kind == "Deployment":
            self.contract.lagging.add(key)
            stored["status"] = _deployment_status(stored, ready=False)
        self.contract.objects[key] = stored
        return (200 if old else 201), stored

    def _get(
        self, request: Recorded, found: re.Match[str], key: tuple[str, str, str, str]
    ) -> tuple[int, dict[str, Any]]:
        obj = self.contract.objects.get(key)
        if obj is None:
            return 404, _status(404, "NotFound", f'{found["plural"]} "{found["name"]}" not found')
        if found["plural"] == "deployments":
            # A controller catches up after one read (never, when never_ready).
            ready = key not in self.contract.lagging and not self.contract.never_ready
            obj["status"] = _deployment_status(obj, ready=ready)
            self.contract.lagging.discard(key)
        return 200, obj

    def _delete(
        self, request: Recorded, found: re.Match[str], key: tuple[str, str, str, str]
    ) -> tuple[int, dict[str, Any]]:
        if self.contract.objects.pop(key, None) is None:
            return 404, _status(404, "NotFound", f'{found["plural"]} "{found["name"]}" not found')
        return 200, {
            **_status(200, "", ""),
            "details": {"name": found["name"], "kind": found["plural"]},
        }


@contextmanager
def running_kube() -> Iterator[KubeContract]:
    """The contract server on 127.0.0.1 for the duration of the block."""
    contract = KubeContract()
    handler = type("Handler", (_Handler,), {"contract": contract})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    contract.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield contract
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
