"""Real git repositories holding blueprints, built in tmp_path, and a `git http-backend` server.

``BlueprintRepo`` is a working repository whose blueprint renders ``VERSION.txt``
from the label of the last commit, so a test can tell which commit was used.
``GitHttpServer`` serves bare repositories over HTTP on 127.0.0.1 through the
real ``git http-backend`` CGI program (or on ``[::1]``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run the real git (for building fixtures, not through CodeForge's wrapper)."""
    proc = subprocess.run(
        ["git", "-c", "protocol.file.allow=always", *args],
        cwd=cwd,
        env={**os.environ, **IDENTITY, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


class BlueprintRepo:
    """A git working copy holding a blueprint named ``tiny``."""

    def __init__(self, path: Path, definition: Mapping[str, Any] | None = None) -> None:
        self.path = path
        path.mkdir(parents=True)
        spec = {
            "name": "tiny",
            "version": "1.0.0",
            "variables": {"greeting": {"type": "str", "default": "hello"}},
            **(definition or {}),
        }
        (path / "blueprint.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
        (path / "template").mkdir()
        (path / "template" / "README.md").write_text(
            "{{ greeting }} from {{ project_name }}\n", encoding="utf-8"
        )
        git(path, "init", "--quiet", "--initial-branch=main", "--template=")

    def write(self, rel: str, content: str | bytes) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")

    def commit(self, label: str, *tags: str) -> str:
        """Commit everything with ``template/VERSION.txt`` = ``label``; tag it; return the sha."""
        self.write("template/VERSION.txt", label + "\n")
        git(self.path, "add", "--all")
        git(self.path, "commit", "--quiet", "--no-verify", "-m", label)
        for tag in tags:
            if tag.startswith("v"):  # annotated, to cover peeled tags
                git(self.path, "tag", "-a", "-m", tag, tag)
            else:
                git(self.path, "tag", tag)
        return git(self.path, "rev-parse", "HEAD")

    def bare(self, dest: Path) -> Path:
        """A bare clone (the "remote" tests fetch from)."""
        git(dest.parent, "clone", "--quiet", "--bare", "--template=", str(self.path), str(dest))
        return dest

    def push(self, bare: Path) -> None:
        git(self.path, "push", "--quiet", "--force", str(bare), "--all")
        git(self.path, "push", "--quiet", "--force", str(bare), "--tags")


def versioned_repo(tmp_path: Path) -> tuple[BlueprintRepo, dict[str, str]]:
    """v1.0.0 (annotated), 1.1.0 (light), 2.0.0-rc.1, then an untagged tip on main and a
    ``feature`` branch; returns the repo and ``{label: sha}``."""
    repo = BlueprintRepo(tmp_path / "work")
    shas = {
        "one": repo.commit("one", "v1.0.0"),
        "two": repo.commit("two", "1.1.0", "not-a-version"),
        "rc": repo.commit("rc", "2.0.0-rc.1"),
        "tip": repo.commit("tip"),
    }
    git(repo.path, "checkout", "--quiet", "-b", "feature")
    shas["feature"] = repo.commit("feature")
    git(repo.path, "checkout", "--quiet", "main")
    return repo, shas


class _Handler(BaseHTTPRequestHandler):
    server: GitHttpServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._cgi()

    def do_POST(self) -> None:
        self._cgi()

    def _cgi(self) -> None:
        path, _, query = self.path.partition("?")
        self.server.seen.append((self.command, self.path, self.headers.get("Authorization")))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": unquote(path),
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_CONFIG_NOSYSTEM": "1",
        }
        for header, name in (
            ("Git-Protocol", "GIT_PROTOCOL"),
            ("Content-Encoding", "HTTP_CONTENT_ENCODING"),
        ):
            if self.headers.get(header):
                env[name] = self.headers[header]
        proc = subprocess.run(
            ["git", "http-backend"],
            input=body,
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        head, _, content = proc.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, content = proc.stdout.partition(b"\n\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(content)


class GitHttpServer(ThreadingHTTPServer):
    """``git http-backend`` for the bare repositories under ``root``, on 127.0.0.1
    (or on another loopback address, such as ``::1``)."""

    daemon_threads = True

    def __init__(self, root: Path, host: str = "127.0.0.1") -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, 0), _Handler)
        self.host = host
        self.root = root
        self.seen: list[tuple[str, str, str | None]] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def __enter__(self) -> GitHttpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=10)
