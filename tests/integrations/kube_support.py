"""What the k8s.apply tests share: kubectl, the kubernetes client, the CLI's environment."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path

from tests.ci_support import skip_unless_ci

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def kubectl() -> str:
    """kubectl: on PATH, or where .ci/install-k8s-tools puts it (as tests/deploy finds it)."""
    found = shutil.which("kubectl") or shutil.which(
        "kubectl", path=str(ROOT / ".ci" / "k8s" / "bin")
    )
    if found is None:
        skip_unless_ci("kubectl is not installed (bash .ci/install-k8s-tools)")
    return found


def needs_client() -> None:
    if importlib.util.find_spec("kubernetes") is None:
        skip_unless_ci("the kubernetes client is not installed (pip install -e '.[test]')")


def kube_env(tmp_path: Path, **more: str) -> dict[str, str]:
    """CodeForge's folders in tmp_path, kubectl found, no kubeconfig unless ``more`` sets one."""
    return {
        "CODEFORGE_CONFIG_DIR": str(tmp_path / "config"),
        "CODEFORGE_DATA_DIR": str(tmp_path / "data"),
        "CODEFORGE_CACHE_DIR": str(tmp_path / "cache"),
        "CODEFORGE_KUBECTL": kubectl(),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path / "home"),  # no ~/.kube/config of the machine's
        "KUBECONFIG": "",
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
        **more,
    }
