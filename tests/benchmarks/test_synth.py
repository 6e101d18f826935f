"""The benchmark's synthetic template: three forms that render the same bytes.

Fast (N=10). Not a timing test: it only guards benchmarks/synth.py and the
command lines of benchmarks/bench_generate.py, and checks CodeForge renders the
same project as cookiecutter and copier.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ci_support import skip_unless_ci

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))

import bench_generate as bg  # noqa: E402
import synth  # noqa: E402

BIN = Path(sys.executable).parent
N = 10


@pytest.fixture(scope="module")
def forms(tmp_path_factory: pytest.TempPathFactory) -> synth.Forms:
    return synth.build(tmp_path_factory.mktemp("synth"), N)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> bg.Sandbox:
    return bg.Sandbox(tmp_path_factory.mktemp("sandbox"))


def _generate(tool: str, forms: synth.Forms, sandbox: bg.Sandbox) -> dict[str, tuple[bytes, bool]]:
    exe = BIN / tool
    if not exe.exists():
        skip_unless_ci(f"{tool} is not installed next to {sys.executable}")
    out = sandbox.fresh_dir("out")
    cmd = bg.COMMANDS[tool](BIN, forms.path(tool), out)
    proc = subprocess.run(
        cmd, env=sandbox.env_for(), cwd=sandbox.base, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    return bg.snapshot(bg.project_root(tool, out))


def test_three_forms_are_written(forms: synth.Forms) -> None:
    plan = synth.plan(N)
    assert len(plan) == N
    assert sum(isinstance(data, bytes) for _, data, _ in plan) == forms.n_binary == 1
    assert (forms.codeforge / "blueprint.yaml").is_file()
    assert (forms.cookiecutter / "cookiecutter.json").is_file()
    assert (forms.copier / "copier.yml").is_file()
    for tool in synth.TOOLS:
        files = [p for p in forms.path(tool).rglob("*") if p.is_file()]
        assert len(files) == N + 1, tool  # the templates plus the definition file
    # Deterministic: same seed, same bytes.
    assert synth.plan(N) == plan
    blob = next(data for _, data, _ in plan if isinstance(data, bytes))
    assert blob.startswith(b"\x00")


def test_cookiecutter_and_copier_render_identically(
    forms: synth.Forms, sandbox: bg.Sandbox
) -> None:
    cc = _generate("cookiecutter", forms, sandbox)
    cp = _generate("copier", forms, sandbox)
    errors, warnings = bg.compare("cookiecutter", cc, "copier", cp)
    assert not errors, "\n".join(errors)
    assert not warnings, "\n".join(warnings)
    assert len(cc) == N
    readme = cc["README.md"][0].decode()
    assert "Grace Hopper" in readme  # --data reached the template
    assert "Apache-2.0" in readme


def _codeforge_init_available() -> str | None:
    """None when `codeforge init` can run, else why not."""
    exe = BIN / "codeforge"
    if not exe.exists():
        return f"no codeforge executable next to {sys.executable}"
    proc = subprocess.run([str(exe), "init", "--help"], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        return f"`codeforge init --help` exits {proc.returncode}: {tail[0][:200]}"
    return None


def test_codeforge_renders_like_cookiecutter(forms: synth.Forms, sandbox: bg.Sandbox) -> None:
    reason = _codeforge_init_available()
    if reason is not None:
        skip_unless_ci(f"CodeForge CLI not usable: {reason}")
    cc = _generate("cookiecutter", forms, sandbox)
    cf = _generate("codeforge", forms, sandbox)
    errors, warnings = bg.compare("cookiecutter", cc, "codeforge", cf)
    assert not errors, "\n".join(errors)
    assert not warnings, "\n".join(warnings)
