"""k8s.apply without a cluster: web-fastapi's manifests rendered for dev and prod, checked by
the real `kubectl kustomize` and `kubernetes-validate --strict` (the tool's own CLI), what they
hold, the user's own files kept, and a broken manifest failing with the file and the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from blueprint_factory import make_blueprint
from cli_support import console

from codeforge.integrations.kubernetes_build import build
from codeforge.integrations.kubernetes_check import kustomize
from codeforge.integrations.kubernetes_manifests import MARKER, spec_from, write_manifests
from tests.ci_support import skip_unless_ci

from .kube_support import kube_env, kubectl

OVERLAYS = Path("deploy") / "kubernetes" / "overlays"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A web-fastapi project (PostgreSQL: a secret by reference), rendered for dev and prod."""
    tmp_path = tmp_path_factory.mktemp("web")
    env = kube_env(tmp_path)
    made = console(
        "init", "-t", "web-fastapi", "shop", "--defaults", "--no-git", "-q",
        "--data", "database=postgresql", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    project = tmp_path / "shop"
    for name in ("dev", "prod"):
        # The deploy stage alone: `workflow run` takes the target and env from the environment.
        stage_env = {**env, "CODEFORGE_DEPLOY_TARGET": "kubernetes", "CODEFORGE_DEPLOY_ENV": name}
        done = console("workflow", "run", "deploy", "-C", str(project), env=stage_env)
        assert done.returncode == 0, done.stderr
        assert "applied=false" in done.stdout
        assert "rendered and validated only" in done.stderr
    return project, env


def built(project: Path, name: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(project / OVERLAYS / name)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_each_overlay_passes_kubernetes_validate_strict(
    web: tuple[Path, dict[str, str]], name: str, tmp_path: Path
) -> None:
    project, _ = web
    docs = built(project, name)
    assert sorted(d["kind"] for d in docs) == ["ConfigMap", "Deployment", "Service"]
    out = tmp_path / f"{name}.yaml"
    out.write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    tool = Path(sys.executable).with_name("kubernetes-validate")
    if not tool.exists():
        skip_unless_ci("kubernetes-validate is not installed (pip install -e '.[test]')")
    for version in ("1.30", "1.32"):
        checked = subprocess.run(
            [str(tool), "--strict", "--kubernetes-version", version, str(out)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.count("passed") == 3


def test_the_deployment_is_locked_down_and_reads_secrets_by_reference(
    web: tuple[Path, dict[str, str]],
) -> None:
    project, _ = web
    by_kind = {d["kind"]: d for d in built(project, "prod")}
    deployment = by_kind["Deployment"]
    assert deployment["spec"]["replicas"] == 2  # prod; dev has 1
    assert {d["kind"]: d for d in built(project, "dev")}["Deployment"]["spec"]["replicas"] == 1
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "shop:latest"
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert set(container["resources"]) == {"requests", "limits"}
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    assert pod["securityContext"]["runAsNonRoot"] is True
    # PostgreSQL's URL comes from a Secret by name and key; no Secret object, no value.
    assert container["env"] == [
        {
            "name": "DATABASE_URL",
            "valueFrom": {"secretKeyRef": {"name": "shop-secrets", "key": "DATABASE_URL"}},
        }
    ]
    assert {"secretRef": {"name": "shop-secrets", "optional": True}} in container["envFrom"]
    assert "Secret" not in by_kind
    assert by_kind["ConfigMap"]["data"]["APP_ENV"] == "prod"
    assert by_kind["Service"]["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    # kustomize's origin annotations name each object's file
    origin = deployment["metadata"]["annotations"]["config.kubernetes.io/origin"]
    assert "base/deployment.yaml" in origin


def deploy_only(tmp_path: Path, inputs: dict[str, object]) -> Path:
    """A project whose blueprint's workflow is one k8s.apply step (no verify to wait for)."""
    step = {"action": "k8s.apply", "when": "deploy.target == 'kubernetes'", "with": inputs}
    bp = make_blueprint(tmp_path / "bp", {"workflow": {"deploy": [step]}}, {"README.md": "hi\n"})
    made = console(
        "init", "-t", str(bp), "api", "--defaults", "--no-git", "-q",
        env=kube_env(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return tmp_path / "api"


def test_ingress_and_hpa_when_asked_and_valid(tmp_path: Path) -> None:
    inputs = {"ingress_host": "api.example.com", "hpa": True, "hpa_max": 7, "image": "reg/api:2"}
    project = deploy_only(tmp_path, inputs)
    done = console(
        "deploy",
        str(project),
        "--target",
        "kubernetes",
        "--env",
        "qa",
        "--kube-version",
        "1.30",
        env=kube_env(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    assert "kube_version=1.30" in done.stdout and "image=reg/api:2" in done.stdout
    by_kind = {d["kind"]: d for d in built(project, "qa")}
    assert set(by_kind) == {
        "ConfigMap",
        "Service",
        "Deployment",
        "Ingress",
        "HorizontalPodAutoscaler",
    }
    assert by_kind["Ingress"]["spec"]["rules"][0]["host"] == "api.example.com"
    assert by_kind["HorizontalPodAutoscaler"]["spec"]["maxReplicas"] == 7
    assert "replicas" not in by_kind["Deployment"]["spec"]  # the HPA owns the count
    assert (
        by_kind["Deployment"]["spec"]["template"]["spec"]["containers"][0]["image"] == "reg/api:2"
    )


def test_a_broken_manifest_fails_with_the_file_and_the_field(tmp_path: Path) -> None:
    project = deploy_only(tmp_path, {})
    env = kube_env(tmp_path)
    first = console("deploy", str(project), "--target", "kubernetes", env=env)
    assert first.returncode == 0, first.stderr
    # The user takes the Deployment over (drops the marker) and mistypes a field.
    path = project / "deploy" / "kubernetes" / "base" / "deployment.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith(MARKER + "\n")
    doc = yaml.safe_load(text)
    doc["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    broken = console("deploy", str(project), "--target", "kubernetes", env=env)
    assert broken.returncode == 11, broken.stderr
    assert "kept your deploy/kubernetes/base/deployment.yaml" in broken.stderr
    assert (
        "invalid manifest: deploy/kubernetes/base/deployment.yaml did not validate" in broken.stderr
    )
    assert "resource deployment/api" in broken.stderr
    assert "spec.template.spec.containers.0" in broken.stderr
    assert "'imagePullPolicyy' was unexpected" in broken.stderr
    assert "imagePullPolicyy" in path.read_text(encoding="utf-8")  # the user's file is kept
    # A kustomization kustomize cannot build is a failed stage with its message too.
    kustomization = project / "deploy" / "kubernetes" / "overlays" / "dev" / "kustomization.yaml"
    kustomization.write_text("resources: [../../nowhere]\n", encoding="utf-8")
    unbuildable = console("deploy", str(project), "--target", "kubernetes", env=env)
    assert unbuildable.returncode == 11
    assert (
        "kubectl kustomize cannot build" in unbuildable.stderr and "nowhere" in unbuildable.stderr
    )


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"port": "http"}, "port must be a whole number"),
        ({"name": "Not_A_Name"}, "'Not_A_Name' is not a DNS label"),
        ({"name": "1st"}, "'1st' is not a DNS label"),  # a Service name starts with a letter
        ({"secret_keys": "DATABASE URL"}, "'DATABASE URL' is not an environment variable name"),
        ({"memory": "lots"}, "'lots' is not a Kubernetes quantity"),
        ({"kube_version": "9.99"}, "kubernetes-validate does not support Kubernetes 9.99"),
    ],
)
def test_bad_inputs_are_named(tmp_path: Path, inputs: dict[str, object], message: str) -> None:
    project = deploy_only(tmp_path, inputs)
    done = console("deploy", str(project), "--target", "kubernetes", env=kube_env(tmp_path))
    assert done.returncode == 2, done.stderr
    assert message in done.stderr


def test_a_context_without_any_kubeconfig_is_a_usage_error(tmp_path: Path) -> None:
    project = deploy_only(tmp_path, {})
    done = console(
        "deploy", str(project), "--target", "kubernetes", "--context", "prod-cluster",
        env=kube_env(tmp_path),
    )  # fmt: skip
    assert done.returncode == 2
    assert "no kubeconfig to find the context 'prod-cluster' in" in done.stderr
    assert "KUBECONFIG" in done.stderr


@pytest.mark.parametrize(
    ("environment", "inputs"),
    [
        ("dev", {}),
        (
            "prod",
            {
                "hpa": True,
                "ingress_host": "a.example.com",
                "namespace": "shop",
                "image": "r:5000/a/b@sha256:" + "0" * 64,
            },
        ),
        (
            "qa",
            {
                "secret_keys": "A,B",
                "writable_paths": "/tmp,/data",
                "image": "reg/x:1",
                "replicas": 3,
            },
        ),
    ],
)
def test_the_python_build_is_what_kubectl_kustomize_builds(
    tmp_path: Path, environment: str, inputs: dict[str, object]
) -> None:
    spec = spec_from(inputs, tmp_path / "My App", environment, "deploy")
    overlay, _, _ = write_manifests(tmp_path, spec)
    assert build(spec) == kustomize(kubectl(), overlay)


def test_without_kubectl_the_generated_overlay_is_built_in_python(tmp_path: Path) -> None:
    project = deploy_only(tmp_path, {"hpa": True})
    env = {**kube_env(tmp_path), "PATH": str(Path(sys.executable).parent)}
    del env["CODEFORGE_KUBECTL"]
    done = console("deploy", str(project), "--target", "kubernetes", "--env", "prod", env=env)
    assert done.returncode == 0, done.stderr
    assert "building the generated overlay in Python" in done.stderr
    assert "4 objects valid for Kubernetes 1.32" in done.stderr
    # A file the user took over needs the real kustomize.
    patch = project / "deploy" / "kubernetes" / "overlays" / "prod" / "patch.yaml"
    patch.write_text(patch.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8")
    mine = console("deploy", str(project), "--target", "kubernetes", "--env", "prod", env=env)
    assert mine.returncode == 2
    assert "needs kubectl to build the kustomize overlay" in mine.stderr
    assert "deploy/kubernetes/overlays/prod/patch.yaml is your own" in mine.stderr
    env["CODEFORGE_KUBECTL"] = str(tmp_path / "no-kubectl")
    named = console("deploy", str(project), "--target", "kubernetes", "--env", "prod", env=env)
    assert named.returncode == 2 and "CODEFORGE_KUBECTL names" in named.stderr
