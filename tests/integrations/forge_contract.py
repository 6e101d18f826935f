"""A contract server for the GitHub REST v3 and GitLab v4 endpoints CodeForge uses.

It runs on 127.0.0.1 (a thread in the test process) and answers as the providers
document it: the same paths, JSON shapes, status codes, error bodies and
rate-limit headers. It records every request (method, path, headers, body), so
tests can assert what was sent, e.g. that no token is ever in a URL.

Endpoints (repositories: ``forge_repos_contract``; pull and merge requests:
``forge_pulls_contract``):

GitHub (Enterprise Server layout, under ``/api/v3``), token in
``Authorization: token T`` or ``Bearer T``:
  * ``GET /api/v3/user``: the authenticated user; ``X-OAuth-Scopes`` lists a
    classic token's scopes (absent for fine-grained tokens); 401 ``Bad credentials``.

GitLab (under ``/api/v4``), token in ``PRIVATE-TOKEN`` or ``Authorization: Bearer``:
  * ``GET /api/v4/user``: the current user; 401 ``{"message": "401 Unauthorized"}``;
    403 ``insufficient_scope`` for a token without ``read_user``, ``read_api`` or ``api``.
  * ``GET /api/v4/personal_access_tokens/self``: the token itself, with its scopes.

Sources: docs.github.com/en/rest/users/users#get-the-authenticated-user,
docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api,
docs.gitlab.com/ee/api/users.html#for-non-administrator-users,
docs.gitlab.com/ee/api/personal_access_tokens.html#get-single-personal-access-token.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

GITHUB_DOCS = "https://docs.github.com/rest"


@dataclasses.dataclass
class Account:
    """A user on the fake forge and one token of theirs."""

    login: str
    name: str
    scopes: list[str] | None  # None: a GitHub fine-grained token (no X-OAuth-Scopes)
    id: int = 1


@dataclasses.dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclasses.dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


Handler = Callable[["ForgeContract", str, re.Match[str], Recorded], Reply]


def _github_token(request: Recorded) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token if scheme.lower() in ("token", "bearer") and token else None


def _gitlab_token(request: Recorded) -> str | None:
    if request.headers.get("private-token"):
        return request.headers["private-token"]
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def github_user(contract: ForgeContract, _m: re.Match[str], request: Recorded) -> Reply:
    token = _github_token(request)
    account = contract.tokens.get(token or "")
    if account is None:
        body = {"message": "Bad credentials", "documentation_url": GITHUB_DOCS, "status": "401"}
        return Reply(401, body)
    headers = {"X-Accepted-OAuth-Scopes": ""}
    if account.scopes is not None:
        headers["X-OAuth-Scopes"] = ", ".join(account.scopes)
    user = {
        "login": account.login,
        "id": account.id,
        "node_id": f"U_{account.id}",
        "type": "User",
        "site_admin": False,
        "name": account.name,
        "html_url": f"{contract.url}/{account.login}",
        "url": f"{contract.url}/api/v3/users/{account.login}",
    }
    return Reply(200, user, headers)


def _gitlab_account(contract: ForgeContract, request: Recorded) -> Account | Reply:
    account = contract.tokens.get(_gitlab_token(request) or "")
    if account is None:
        return Reply(401, {"message": "401 Unauthorized"})
    return account


def gitlab_user(contract: ForgeContract, _m: re.Match[str], request: Recorded) -> Reply:
    account = _gitlab_account(contract, request)
    if isinstance(account, Reply):
        return account
    if not {"api", "read_api", "read_user"} & set(account.scopes or ()):
        return Reply(
            403,
            {
                "error": "insufficient_scope",
                "error_description": "The request requires higher privileges than provided by the access token.",
                "scope": "api read_api read_user",
            },
        )
    user = {
        "id": account.id,
        "username": account.login,
        "name": account.name,
        "state": "active",
        "web_url": f"{contract.url}/{account.login}",
    }
    return Reply(200, user)


def gitlab_token_self(contract: ForgeContract, _m: re.Match[str], request: Recorded) -> Reply:
    account = _gitlab_account(contract, request)
    if isinstance(account, Reply):
        return account
    token = {
        "id": account.id,
        "name": "codeforge",
        "revoked": False,
        "created_at": "2026-01-01T00:00:00.000Z",
        "scopes": account.scopes or [],
        "user_id": account.id,
        "last_used_at": None,
        "active": True,
        "expires_at": None,
    }
    return Reply(200, token)


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", r"/api/v3/user", github_user),
    ("GET", r"/api/v4/user", gitlab_user),
    ("GET", r"/api/v4/personal_access_tokens/self", gitlab_token_self),
]


class ForgeContract:
    """The server's state: tokens it knows, requests it saw, routes it answers.

    ``repos`` (``"github:owner/name"`` -> FakeRepo) live as bare repositories under
    ``git_root``, served by the real ``git http-backend`` at ``/owner/name.git``;
    ``orgs`` maps a GitHub organization or GitLab group to its members' logins;
    ``inject`` holds replies given, in order, to the next API requests (5xx, 429).
    """

    def __init__(self, git_root: Path) -> None:
        from .forge_pulls_contract import PULL_ROUTES
        from .forge_repos_contract import REPO_ROUTES, FakeRepo

        self.tokens: dict[str, Account] = {}
        self.requests: list[Recorded] = []
        self.routes = [
            (m, re.compile(p + r"/?"), h) for m, p, h in [*ROUTES, *REPO_ROUTES, *PULL_ROUTES]
        ]
        self.rate_remaining = 5000
        self.url = ""
        self.git_root = git_root
        self.repos: dict[str, FakeRepo] = {}
        self.orgs: dict[str, set[str]] = {}
        self.inject: list[Reply] = []
        self.failures: list[tuple[str, str, Reply]] = []  # (method, path prefix, reply), used once

    def mutating(self) -> list[Recorded]:
        """The API requests that change something (not GET), git pushes included."""
        return [r for r in self.requests if r.method != "GET" and "git-upload-pack" not in r.path]

    def answer(self, request: Recorded) -> Reply:
        self.requests.append(request)
        path = request.path.split("?", 1)[0]
        if self.inject:
            return self.inject.pop(0)
        for index, (method, prefix, failure) in enumerate(self.failures):
            if request.method == method and path.startswith(prefix):
                del self.failures[index]
                return failure
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if match and method == request.method:
                reply = handler(self, match, request)
                break
        else:
            reply = Reply(404, {"message": "Not Found", "documentation_url": GITHUB_DOCS})
        self.rate_remaining -= 1
        reset = str(int(time.time()) + 3600)
        limits = {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(self.rate_remaining),
            "X-RateLimit-Reset": reset,
            "X-RateLimit-Used": str(5000 - self.rate_remaining),
            "X-RateLimit-Resource": "core",
        }
        if path.startswith("/api/v4/"):
            limits = {
                "RateLimit-Limit": "2000",
                "RateLimit-Remaining": str(max(0, self.rate_remaining - 3000)),
                "RateLimit-Reset": reset,
                "RateLimit-Observed": str(5000 - self.rate_remaining),
            }
        return Reply(reply.status, reply.body, {**limits, **reply.headers})


def _basic_token(request: Recorded) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        _user, _, token = base64.b64decode(value).decode().partition(":")
    except ValueError:
        return None
    return token or None


class _Handler(BaseHTTPRequestHandler):
    contract: ForgeContract

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = Recorded(
            self.command,
            self.path,
            {k.lower(): v for k, v in self.headers.items()},
            self.rfile.read(length) if length else b"",
        )
        if not self.path.startswith("/api/"):
            self._git(request)
            return
        reply = self.contract.answer(request)
        data = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def _git(self, request: Recorded) -> None:
        """Smart HTTP through the real ``git http-backend``; Basic auth with a known token."""
        self.contract.requests.append(request)
        path, _, query = self.path.partition("?")
        token = _basic_token(request)
        if token is None or token not in self.contract.tokens:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="forge"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        env = {
            "PATH": os.environ.get("PATH", ""),
            "GIT_PROJECT_ROOT": str(self.contract.git_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(request.body)),
            "REMOTE_USER": self.contract.tokens[token].login,
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
            input=request.body,
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        head, sep, content = proc.stdout.partition(b"\r\n\r\n")
        if not sep:
            head, _, content = proc.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers.append((key, value.strip()))
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests are recorded, not printed


@contextmanager
def running_contract() -> Iterator[ForgeContract]:
    """A contract server on 127.0.0.1 for the duration of the block."""
    git_root = Path(tempfile.mkdtemp(prefix="forge-git-"))
    contract = ForgeContract(git_root)
    handler = type("Handler", (_Handler,), {"contract": contract})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    contract.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield contract
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        import shutil

        shutil.rmtree(git_root, ignore_errors=True)
