"""The one hardened wrapper through which CodeForge runs ``git``.

Arguments are lists (never a shell), user-supplied operands come after ``--``,
hooks and templates from the environment are switched off, prompts are
disabled, every call has a timeout, and credentials in URLs are redacted from
every message.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from codeforge.core.errors import CodeForgeError

GIT_TIMEOUT = 120.0
_CREDENTIALS_RE = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


class GitError(CodeForgeError):
    kind = "git"
    exit_code = 10


class GitMissing(GitError):
    """git is not installed."""


def redact(text: str) -> str:
    """Hide ``user:password@`` in any URL inside ``text``."""
    return _CREDENTIALS_RE.sub(r"\g<scheme>***@", text)


def git_available() -> bool:
    return shutil.which("git") is not None


def _env(extra: Mapping[str, str] | None) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "SYSTEMROOT", "XDG_CONFIG_HOME")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "",
            "SSH_ASKPASS": "",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_PROTOCOL_FROM_USER": "0",
            "GIT_ALLOW_PROTOCOL": "https:ssh:file",
        }
    )
    if extra:
        env.update(extra)
    return env


def run_git(
    args: Sequence[str],
    cwd: Path,
    *,
    operands: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = GIT_TIMEOUT,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``git ARGS -- OPERANDS`` in ``cwd`` with hooks off; raise GitError on failure."""
    exe = shutil.which("git")
    if exe is None:
        raise GitMissing("git is not installed", hint="install git or pass --no-git")
    command = [
        exe,
        "-c",
        "core.hooksPath=/dev/null",
        "-c",
        "protocol.ext.allow=never",
        "-c",
        "protocol.fd.allow=never",
        *args,
    ]
    if operands:
        command += ["--", *operands]
    try:
        proc = subprocess.run(
            command,
            cwd=cwd,
            env=_env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {args[0]} took longer than {timeout:g} s") from exc
    if check and proc.returncode != 0:
        detail = redact(
            (
                (proc.stderr or proc.stdout).strip().splitlines()[-1:]
                and (proc.stderr or proc.stdout).strip().splitlines()[-1]
            )
            or ""
        )
        raise GitError(f"git {args[0]} failed: {detail}")
    return proc


def config_value(key: str, cwd: Path) -> str | None:
    proc = run_git(["config", "--get", key], cwd, check=False)
    value = proc.stdout.strip()
    return value or None


def init_and_commit(
    path: Path, message: str, *, author_name: str | None, author_email: str | None
) -> str:
    """``git init`` (no template hooks) + add everything + first commit; returns the commit id."""
    run_git(["init", "--quiet", "--template=", "--initial-branch=main"], path)
    run_git(["add", "--all"], path)
    name = author_name or config_value("user.name", path) or "CodeForge"
    email = author_email or config_value("user.email", path) or "codeforge@localhost"
    identity = {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }
    run_git(
        ["commit", "--quiet", "--no-verify", "--no-gpg-sign", "-m", message], path, env=identity
    )
    return run_git(["rev-parse", "HEAD"], path).stdout.strip()
