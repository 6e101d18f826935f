"""deploy/kubernetes (kustomize base, dev and prod overlays) and deploy/helm/codeforge:
rendered, then validated with `kubernetes-validate --strict` (ServiceMonitors, a custom
resource it has no schema for, with check-jsonschema against the vendored schema),
`helm lint --strict`, and checked for what the platform needs: probes on endpoints the
app serves, non-root read-only containers, secrets by reference only, the migration
before the rollout, and commands the CLI has."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci_support import skip_unless_ci

from .monitoring_support import ROOT, exported_families

KUBERNETES = ROOT / "deploy" / "kubernetes"
CHART = ROOT / "deploy" / "helm" / "codeforge"
SCHEMA = KUBERNETES / "schemas" / "servicemonitor-v1.json"
CUSTOM_KINDS = {"ServiceMonitor"}
KINDS = {
    "ServiceAccount",
    "ConfigMap",
    "Service",
    "Deployment",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "Job",
    "ServiceMonitor",
}


def k8s_tool(name: str) -> str:
    """helm or kubectl: on PATH, or where .ci/install-k8s-tools puts them."""
    found = shutil.which(name) or shutil.which(name, path=str(ROOT / ".ci" / "k8s" / "bin"))
    if found is None:
        skip_unless_ci(f"{name} is not installed (bash .ci/install-k8s-tools)")
    return found


def venv_tool(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    if not path.exists():
        skip_unless_ci(f"{name} is not installed (pip install -e '.[test]')")
    return str(path)


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)


def rendered(name: str) -> str:
    if name == "helm":
        result = run(k8s_tool("helm"), "template", "codeforge", str(CHART), "--namespace", "cf")
    else:
        result = run(k8s_tool("kubectl"), "kustomize", str(KUBERNETES / name))
    assert result.returncode == 0, result.stderr
    return result.stdout


SOURCES = ["base", "overlays/dev", "overlays/prod", "helm"]


@pytest.fixture(scope="module", params=SOURCES)
def manifests(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(rendered(request.param)) if doc]


def validate(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    """kubernetes-validate --strict on the built-in kinds, check-jsonschema on the CRDs."""
    builtin = [d for d in docs if d["kind"] not in CUSTOM_KINDS]
    custom = [d for d in docs if d["kind"] in CUSTOM_KINDS]
    (tmp_path / "builtin.yaml").write_text(yaml.safe_dump_all(builtin), encoding="utf-8")
    result = run(venv_tool("kubernetes-validate"), "--strict", str(tmp_path / "builtin.yaml"))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Couldn't find schema" not in output and "passed" in output
    assert output.count("passed for resource") == len(builtin)
    files = []
    for index, doc in enumerate(custom):
        files.append(tmp_path / f"custom{index}.yaml")
        files[-1].write_text(yaml.safe_dump(doc), encoding="utf-8")
    checked = run(venv_tool("check-jsonschema"), "--schemafile", str(SCHEMA), *map(str, files))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_manifests_validate_strictly(manifests: list[dict[str, Any]], tmp_path: Path) -> None:
    assert {doc["kind"] for doc in manifests} == KINDS
    validate(manifests, tmp_path)


@pytest.mark.parametrize("kind", ["Deployment", "ServiceMonitor"])
def test_validation_refuses_an_unknown_field(kind: str, tmp_path: Path) -> None:
    docs = [doc for doc in yaml.safe_load_all(rendered("base")) if doc]
    target = next(doc for doc in docs if doc["kind"] == kind)
    target["spec"]["replicaz"] = 2
    with pytest.raises(AssertionError):
        validate(docs, tmp_path)


def test_helm_lint_passes() -> None:
    result = run(k8s_tool("helm"), "lint", "--strict", str(CHART))
    assert result.returncode == 0, result.stdout + result.stderr


def containers(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    found = []
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            pod = doc["spec"]["template"]["spec"]
            found.extend((doc["metadata"]["name"], pod, c) for c in pod["containers"])
    return found


def test_containers_run_as_non_root_on_a_read_only_root(manifests: list[dict[str, Any]]) -> None:
    for name, pod, container in containers(manifests):
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, name
        assert security["allowPrivilegeEscalation"] is False, name
        assert security["capabilities"]["drop"] == ["ALL"], name
        assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp", "/var/lib/codeforge"}
        assert container["resources"]["requests"] and container["resources"]["limits"], name


def test_secrets_are_only_referenced(manifests: list[dict[str, Any]]) -> None:
    assert not [doc for doc in manifests if doc["kind"] == "Secret"]
    for name, _pod, container in containers(manifests):
        refs = [e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e]
        assert refs == ["codeforge-secrets"], name
        for env in container.get("env", []):
            assert env["name"].startswith(("CODEFORGE_", "HOME")) and "SECRET" not in env["name"]
    text = yaml.safe_dump_all(manifests)
    assert "postgresql://" not in text and "AWS_SECRET_ACCESS_KEY:" not in text


def test_probes_use_endpoints_the_app_serves(manifests: list[dict[str, Any]]) -> None:
    from codeforge.api.routes.health import router
    from codeforge.app.worker_health import PATHS

    served = {
        "api": {route.path for route in router.routes},  # type: ignore[attr-defined]
        "worker": set(PATHS),
    }
    probes = {}
    for name, _pod, container in containers(manifests):
        component = name.rsplit("-", 1)[-1]
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if probe in container:
                get = container[probe]["httpGet"]
                probes[(component, probe)] = get["path"]
                assert get["path"] in served[component], (name, probe)
                if component == "worker":  # the port the worker is told to serve them on
                    args = container["args"]
                    port = args[args.index("--health-port") + 1]
                    assert str(ports[get["port"]]) == port, (name, probe)
    for component in ("api", "worker"):
        assert probes[(component, "livenessProbe")] == "/healthz"
        assert probes[(component, "readinessProbe")] == "/readyz"


def test_the_commands_exist_and_the_migration_runs_first(manifests: list[dict[str, Any]]) -> None:
    from cli_support import console

    args = {name.rsplit("-", 1)[-1]: c["args"] for name, _p, c in containers(manifests)}
    assert args["api"][:2] == ["codeforge", "serve"]
    assert args["worker"][:2] == ["codeforge", "worker"]
    assert args["migrate"] == ["codeforge", "db", "upgrade"]
    for command in args.values():
        options = [a for a in command[1:] if a.startswith("--")]
        result = console(*[a for a in command[1:] if not a.startswith("-")][:2], "--help")
        assert result.returncode == 0, result.stderr
        assert all(option in result.stdout for option in options), (command, result.stdout)
    (job,) = [doc for doc in manifests if doc["kind"] == "Job"]
    hooks = job["metadata"].get("annotations", {})
    helm_hook = hooks.get("helm.sh/hook") == "pre-install,pre-upgrade"
    argo_hook = hooks.get("argocd.argoproj.io/hook") == "PreSync"
    assert helm_hook or argo_hook


def test_autoscalers_use_cpu_and_an_exported_queue_metric(manifests: list[dict[str, Any]]) -> None:
    scalers = {
        d["metadata"]["name"].rsplit("-", 1)[-1]: d
        for d in manifests
        if d["kind"] == "HorizontalPodAutoscaler"
    }
    assert scalers["api"]["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    external = scalers["worker"]["spec"]["metrics"][0]["external"]["metric"]["name"]
    assert external in exported_families()
    budgets = [d for d in manifests if d["kind"] == "PodDisruptionBudget"]
    assert len(budgets) == 2
