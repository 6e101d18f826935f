"""package.build and package.upload end to end: a generated library verified, built, uploaded
to a real pypiserver on 127.0.0.1, and pip-installed from it into a new virtualenv."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import console
from process_support import die_with_parent, free_port

from codeforge.plugins import hookimpl
from codeforge.plugins.manager import build_plugins

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A pypiserver on 127.0.0.1 that takes uploads without authentication."""
    server = BIN / "pypi-server"
    if not server.exists():
        pytest.skip("pypiserver is not installed (the test extra installs it)")
    packages = tmp_path_factory.mktemp("packages")
    port = free_port()
    proc = subprocess.Popen(
        [
            str(server),
            "run",
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "-a",
            ".",
            "-P",
            ".",
            str(packages),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "simple/", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "pypiserver did not start"
                assert proc.poll() is None, "pypiserver exited"
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def cli_env(tmp_path: Path, **more: str) -> dict[str, str]:
    """CodeForge's folders in tmp_path; the venv's python, pytest and ruff first on PATH."""
    return {
        "CODEFORGE_CONFIG_DIR": str(tmp_path / "config"),
        "CODEFORGE_DATA_DIR": str(tmp_path / "data"),
        "CODEFORGE_CACHE_DIR": str(tmp_path / "cache"),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "NO_PROXY": "127.0.0.1",
        "no_proxy": "127.0.0.1",
        **more,
    }


def test_the_built_in_actions_come_from_the_default_plugin() -> None:
    actions = build_plugins({}).workflow_actions()
    assert {"package.build", "package.upload"} <= set(actions)


def test_a_plugin_adds_a_workflow_action_and_may_not_take_a_taken_name() -> None:
    class Named:
        def __init__(self, name: str) -> None:
            self.name = name

        def run(self, context: object) -> dict[str, str]:
            return {}

    class Plugin:
        @hookimpl
        def codeforge_workflow_actions(self) -> list[Named]:
            return [Named("acme.deploy")]

    assert "acme.deploy" in build_plugins({}, extra=[("mine", Plugin())]).workflow_actions()

    class Clash:
        @hookimpl
        def codeforge_workflow_actions(self) -> list[Named]:
            return [Named("package.build")]

    from codeforge.errors import PluginError

    with pytest.raises(PluginError, match=r"both give workflow action 'package\.build'"):
        build_plugins({}, extra=[("clash", Clash())]).workflow_actions()


def test_a_library_is_verified_built_uploaded_and_installable(tmp_path: Path, index: str) -> None:
    env = cli_env(
        tmp_path,
        CODEFORGE_PACKAGE_INDEX=index,
        CODEFORGE_BUILD_ISOLATION="0",  # hatchling is installed beside CodeForge: no download
        TWINE_USERNAME="tester",
        TWINE_PASSWORD="unused",
    )
    made = console(
        "init",
        "-t",
        "lib-python",
        "shelf-kit",
        "--defaults",
        "--no-git",
        "-q",
        env=env,
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    project = tmp_path / "shelf-kit"

    first = console("workflow", "run", "-C", str(project), env=env, timeout=600)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["verify", "succeeded"],
        ["build", "succeeded"],
        ["publish", "succeeded"],
    ]
    assert "version=0.1.0" in lines[2] and f"url={index}" in lines[2]
    assert sorted(p.name for p in (project / "dist").iterdir()) == [
        "shelf_kit-0.1.0-py3-none-any.whl",
        "shelf_kit-0.1.0.tar.gz",
    ]

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    install = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--index-url",
            f"{index}simple/",
            "shelf-kit==0.1.0",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_PROXY": "127.0.0.1", "PIP_CONFIG_FILE": os.devnull},
    )
    assert install.returncode == 0, install.stdout + install.stderr
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import shelf_kit; print(shelf_kit.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip() == "0.1.0"

    again = console("workflow", "run", "-C", str(project), env=env)
    assert again.returncode == 0, again.stderr
    assert [line.split()[:2] for line in again.stdout.splitlines()] == [
        ["verify", "skipped"],
        ["build", "skipped"],
        ["publish", "skipped"],
    ]
    state = json.loads(console("workflow", "status", "-C", str(project), "--json", env=env).stdout)
    assert [(s["stage"], s["last"]["status"], s["up_to_date"]) for s in state] == [
        ("verify", "succeeded", True),
        ("build", "succeeded", True),
        ("publish", "succeeded", True),
    ]
    assert state[2]["last"]["outputs"] == {"package": "shelf_kit", "version": "0.1.0", "url": index}
    listed = json.loads(console("list", "projects", "--json", env=env).stdout)
    assert [p["workflow"] for p in listed] == ["publish: succeeded"]


@pytest.mark.parametrize(
    ("template", "stages", "outputs"),
    [
        ("cli-click", ["verify", "build"], "package=fresh_one version=0.1.0"),
        ("web-fastapi", ["verify"], ""),
    ],
)
def test_the_other_built_ins_pass_their_own_workflow(
    tmp_path: Path, template: str, stages: list[str], outputs: str
) -> None:
    env = cli_env(tmp_path, CODEFORGE_BUILD_ISOLATION="0")
    made = console(
        "init", "-t", template, "fresh-one", "--defaults", "--no-git", "-q", env=env, cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    done = console(
        "workflow", "run", *stages, "-C", str(tmp_path / "fresh-one"), env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [[stage, "succeeded"] for stage in stages]
    assert outputs in lines[-1]
