"""k8s.apply against a cluster: `codeforge deploy --target kubernetes` through the real console
script, applying with the official client to the contract server (tests/integrations/
kube_contract.py) by server-side apply, waiting for the rollout, and `--down` deleting; plus
an opt-in run against a real cluster (CODEFORGE_TEST_KUBECONFIG)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from blueprint_factory import make_blueprint
from cli_support import console

from codeforge.core.steps import StepFailed
from codeforge.integrations.kubernetes_cluster import rolled_out

from .kube_contract import APPLY, TOKEN, KubeContract, running_kube
from .kube_support import kube_env, needs_client


@pytest.fixture
def kube() -> Iterator[KubeContract]:
    needs_client()
    with running_kube() as contract:
        yield contract


def test_deploy_applies_server_side_waits_for_the_rollout_and_down_deletes(
    tmp_path: Path, kube: KubeContract
) -> None:
    env = kube_env(tmp_path, KUBECONFIG=str(kube.kubeconfig(tmp_path / "kubeconfig")))
    made = console(
        "init", "-t", "web-fastapi", "shop", "--defaults", "--no-git", "-q",
        "--data", "database=postgresql",
        # no image build stage (that needs a Docker engine): the image is built elsewhere
        "--data", "use_docker=false",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    project = tmp_path / "shop"
    done = console(
        "deploy", str(project), "--trust", "--target", "kubernetes", "--env", "prod",
        env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # What the server received: one server-side apply per object, in order, from codeforge.
    applied = kube.applied()
    assert [r.path for r in applied] == [
        "/api/v1/namespaces/apps/configmaps/shop-config",
        "/api/v1/namespaces/apps/services/shop",
        "/apis/apps/v1/namespaces/apps/deployments/shop",
    ]  # the kubeconfig context's namespace
    for request in applied:
        assert request.headers["content-type"] == APPLY
        assert request.query["fieldManager"] == ["codeforge"]
        assert request.query["force"] == ["true"]
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
    sent = [yaml.safe_load(r.body) for r in applied]
    assert [d["kind"] for d in sent] == ["ConfigMap", "Service", "Deployment"]
    deployment = sent[2]
    assert deployment["spec"]["replicas"] == 2
    assert deployment["metadata"]["namespace"] == "apps"
    assert "annotations" not in deployment["metadata"]  # kustomize's origin stays local
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["env"][0]["valueFrom"]["secretKeyRef"] == {
        "name": "shop-secrets",
        "key": "DATABASE_URL",
    }
    assert sent[0]["data"]["APP_ENV"] == "prod"
    # The rollout was waited for: the status was read until it caught up (twice here).
    assert all("/namespaces/" in r.path for r in kube.requests)  # typed calls: no discovery
    reads = [r for r in kube.requests if r.method == "GET"]
    assert [r.path for r in reads] == ["/apis/apps/v1/namespaces/apps/deployments/shop/status"] * 2
    assert "rollout=2/2 updated, 2/2 available" in done.stdout
    assert "applied=true" in done.stdout and "namespace=apps" in done.stdout
    assert "objects=configmap/shop-config,service/shop,deployment/shop" in done.stdout
    assert "deployment/shop rolled out" in done.stderr
    # --down deletes what was applied, the Deployment first.
    down = console(
        "deploy", str(project), "--target", "kubernetes", "--env", "prod", "--down", env=env
    )
    assert down.returncode == 0, down.stderr
    deletes = [r.path for r in kube.requests if r.method == "DELETE"]
    assert deletes == [p.path for p in reversed(applied)]
    assert kube.objects == {}
    assert "deleted=3" in down.stdout


def deploy_only(tmp_path: Path, inputs: dict[str, object]) -> Path:
    step = {"action": "k8s.apply", "when": "deploy.target == 'kubernetes'", "with": inputs}
    bp = make_blueprint(tmp_path / "bp", {"workflow": {"deploy": [step]}}, {"README.md": "hi\n"})
    made = console(
        "init", "-t", str(bp), "api", "--defaults", "--no-git", "-q",
        env=kube_env(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return tmp_path / "api"


def test_context_namespace_hpa_and_ingress_reach_the_server(
    tmp_path: Path, kube: KubeContract
) -> None:
    inputs = {"hpa": True, "ingress_host": "api.example.com", "namespace": "team-a"}
    project = deploy_only(tmp_path, inputs)
    config = kube.kubeconfig(tmp_path / "kubeconfig")
    env = kube_env(tmp_path, KUBECONFIG=f"{tmp_path / 'absent'}{os.pathsep}{config}")
    done = console(
        "deploy", str(project), "--target", "kubernetes", "--context", "contract", env=env
    )
    assert done.returncode == 0, done.stderr
    paths = [r.path for r in kube.applied()]
    assert paths == [
        "/api/v1/namespaces/team-a/configmaps/api-config",
        "/api/v1/namespaces/team-a/services/api",
        "/apis/apps/v1/namespaces/team-a/deployments/api",
        "/apis/autoscaling/v2/namespaces/team-a/horizontalpodautoscalers/api",
        "/apis/networking.k8s.io/v1/namespaces/team-a/ingresses/api",
    ]
    assert "context=contract" in done.stdout and "namespace=team-a" in done.stdout
    # An unknown context is a usage error naming it; nothing more is sent.
    before = len(kube.requests)
    wrong = console(
        "deploy", str(project), "--target", "kubernetes", "--context", "nope", "--force", env=env
    )
    assert wrong.returncode == 2, wrong.stderr
    assert "nope" in wrong.stderr and "kubeconfig" in wrong.stderr
    assert len(kube.requests) == before


def test_an_api_error_fails_the_stage_with_the_servers_message(
    tmp_path: Path, kube: KubeContract
) -> None:
    project = deploy_only(tmp_path, {})
    config = kube.kubeconfig(tmp_path / "kubeconfig")
    # A token the server refuses: 401 on the first apply, exit 11 with its message.
    config.write_text(config.read_text().replace(TOKEN, "wrong"), encoding="utf-8")
    done = console(
        "deploy",
        str(project),
        "--target",
        "kubernetes",
        env=kube_env(tmp_path, KUBECONFIG=str(config)),
    )
    assert done.returncode == 11, done.stderr
    assert "applying configmap/api-config: the API server answered 401" in done.stderr
    assert kube.objects == {}


def test_the_rollout_waits_for_every_replica() -> None:
    deployment = {"metadata": {"generation": 3}, "spec": {"replicas": 2}}
    status = {"observedGeneration": 3, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2}
    assert rolled_out({**deployment, "status": status}) == (False, "2/2 updated, 2/2 available")
    status["replicas"] = 2  # the old replica is gone
    assert rolled_out({**deployment, "status": status})[0]
    status["observedGeneration"] = 2  # the controller has not seen the new spec yet
    assert not rolled_out({**deployment, "status": status})[0]
    stuck = {"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "too slow"}
    with pytest.raises(StepFailed, match="the rollout stopped: too slow"):
        rolled_out({**deployment, "status": {**status, "conditions": [stuck]}})


@pytest.mark.skipif(
    not os.environ.get("CODEFORGE_TEST_KUBECONFIG"),
    reason="a live cluster test: set CODEFORGE_TEST_KUBECONFIG to a kubeconfig to run it",
)
def test_live_cluster_apply_rollout_and_down(tmp_path: Path) -> None:
    """Deploys a small public image to the cluster CODEFORGE_TEST_KUBECONFIG names (its current
    context, a fresh name in its namespace), waits for the rollout, then takes it down."""
    needs_client()
    name = f"codeforge-live-{uuid.uuid4().hex[:8]}"
    inputs = {
        "name": name,
        "image": os.environ.get("CODEFORGE_TEST_IMAGE", "nginxinc/nginx-unprivileged:stable"),
        "port": 8080,
        "health_path": "/",
        "user": 101,
        "writable_paths": "/tmp,/var/cache/nginx",
        "rollout_timeout": 240,
    }
    project = deploy_only(tmp_path, inputs)
    env = kube_env(tmp_path, KUBECONFIG=os.environ["CODEFORGE_TEST_KUBECONFIG"])
    try:
        done = console("deploy", str(project), "--target", "kubernetes", env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "applied=true" in done.stdout and "rollout=1/1 updated, 1/1 available" in done.stdout
    finally:
        down = console("deploy", str(project), "--target", "kubernetes", "--down", env=env)
        assert down.returncode == 0, down.stderr


def test_a_kind_it_does_not_apply_is_refused_before_anything_is_sent(
    tmp_path: Path, kube: KubeContract
) -> None:
    project = deploy_only(tmp_path, {})
    env = kube_env(tmp_path)  # no cluster: render only
    assert console("deploy", str(project), "--target", "kubernetes", env=env).returncode == 0
    # The user takes the base kustomization over and adds a Secret with a value.
    base = project / "deploy" / "kubernetes" / "base"
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "api-secrets"}}
    (base / "secret.yaml").write_text(
        yaml.safe_dump({**secret, "stringData": {"TOKEN": "x"}}), encoding="utf-8"
    )
    kustomization = yaml.safe_load((base / "kustomization.yaml").read_text(encoding="utf-8"))
    kustomization["resources"].append("secret.yaml")
    (base / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
    env["KUBECONFIG"] = str(kube.kubeconfig(tmp_path / "kubeconfig"))
    done = console("deploy", str(project), "--target", "kubernetes", env=env)
    assert done.returncode == 2, done.stderr
    assert "k8s.apply cannot apply Secret (v1) api-secrets" in done.stderr
    assert kube.requests == []


def test_home_kubeconfig_is_used_and_a_stuck_rollout_fails_the_stage(
    tmp_path: Path, kube: KubeContract
) -> None:
    project = deploy_only(tmp_path, {"rollout_timeout": 1.5})
    (tmp_path / "home" / ".kube").mkdir(parents=True)
    kube.kubeconfig(tmp_path / "home" / ".kube" / "config")  # no KUBECONFIG: ~/.kube/config
    kube.never_ready = True
    done = console("deploy", str(project), "--target", "kubernetes", env=kube_env(tmp_path))
    assert done.returncode == 11, done.stderr
    assert "the rollout of deployment/api in apps did not finish in 1.5 s" in done.stderr
    assert "0/1 updated, 0/1 available" in done.stderr
    assert len(kube.applied()) == 3
