"""The ``package.build`` and ``package.upload`` workflow actions: ``python -m build`` and ``twine``.

Both tools run with CodeForge's own interpreter (the ``package`` extra installs
them), as commands in the project through the action context, so a failure
shows their last output lines and Ctrl-C stops them.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from codeforge.core.answersfile import FALSE_WORDS
from codeforge.core.sdlc_run import ActionContext
from codeforge.errors import UsageError
from codeforge.redaction import redact

# The wheel file name: {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl
_WHEEL_RE = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")
# Passed to the tools from CodeForge's environment (the step runs with a minimal one).
_PASSED = ("PIP_", "TWINE_", "SSL_CERT_", "REQUESTS_CA_BUNDLE")


def _needs(module: str, action: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise UsageError(
            f"{action} needs the `{module}` package beside CodeForge",
            hint="pip install 'codeforge[package]'",
        )


def _passed_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(_PASSED)}


def _outdir(context: ActionContext) -> Path:
    raw = str(context.inputs.get("outdir", "dist"))
    parts = raw.replace("\\", "/").split("/")
    if not raw or raw.startswith(("/", "\\")) or ".." in parts:
        raise UsageError(
            f"{raw!r} must be a folder inside the project", where=f"workflow.{context.stage}.with"
        )
    return context.project / raw


def _built(outdir: Path) -> tuple[str, str, list[Path]]:
    """The distribution name, version and files (wheel and sdist) of the newest wheel in ``outdir``."""
    wheels = sorted(outdir.glob("*.whl"), key=lambda p: p.stat().st_mtime)
    found = _WHEEL_RE.match(wheels[-1].name) if wheels else None
    if found is None:
        raise UsageError(f"no wheel in {outdir}", hint="run the build stage first")
    name, version = found["name"], found["version"]
    files = [p for p in outdir.iterdir() if p.name.startswith(f"{name}-{version}")]
    sdists = [
        p for p in outdir.glob("*.tar.gz") if p.name.lower() == f"{name}-{version}.tar.gz".lower()
    ]
    return name, version, sorted({*files, *sdists})


class PackageBuild:
    """``package.build``: a wheel and an sdist of the project into ``dist/``.

    Inputs: ``outdir`` (default ``dist``), ``isolation`` (default true: ``python -m
    build`` installs the build backend into a fresh environment).
    """

    name = "package.build"

    def run(self, context: ActionContext) -> Mapping[str, str]:
        """Build into a scratch folder, then move the files into ``outdir``."""
        _needs("build", self.name)
        outdir = _outdir(context)
        isolated = str(context.inputs.get("isolation", "true")).strip().lower() not in FALSE_WORDS
        with tempfile.TemporaryDirectory(prefix="codeforge-build-") as scratch:
            argv = [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", scratch, "."]
            if not isolated:
                argv.append("--no-isolation")
            context.run(argv, env=_passed_env())
            outdir.mkdir(parents=True, exist_ok=True)
            for made in Path(scratch).iterdir():
                shutil.move(str(made), outdir / made.name)
        name, version, files = _built(outdir)
        return {"package": name, "version": version, "files": " ".join(p.name for p in files)}


class PackageUpload:
    """``package.upload``: the built files of the newest version, to a package index with twine."""

    name = "package.upload"

    def run(self, context: ActionContext) -> Mapping[str, str]:
        """Upload to the ``repository_url`` input (the step's, else CODEFORGE_PACKAGE_INDEX)."""
        _needs("twine", self.name)
        url = str(context.inputs.get("repository_url", "")).strip()
        if not url:
            raise UsageError(
                "package.upload: no package index to upload to",
                where=f"workflow.{context.stage}",
                hint="set CODEFORGE_PACKAGE_INDEX (or workflow.package_index in the config), "
                "or give the step `with: {repository_url: ...}`",
            )
        name, version, files = _built(_outdir(context))
        context.info(f"uploading {name} {version} to {redact(url)}")
        argv = [sys.executable, "-m", "twine", "upload", "--non-interactive"]
        argv += ["--disable-progress-bar", "--repository-url", url, *(str(p) for p in files)]
        context.run(argv, env=_passed_env())
        return {"package": name, "version": version, "url": redact(url)}
