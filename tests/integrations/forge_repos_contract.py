"""Repository endpoints of the forge contract server (what ``codeforge publish`` calls).

GitHub REST v3 (under ``/api/v3``):
  * ``GET /repos/{owner}/{repo}`` (404 ``Not Found``), ``PATCH`` it (default_branch,
    description; 422 when the branch does not exist);
  * ``POST /user/repos`` and ``POST /orgs/{org}/repos``: 201; 422 ``Repository creation
    failed.`` with ``errors[].message`` ``name already exists on this account``;
  * ``GET /orgs/{org}`` (404 for an unknown one);
  * ``PUT /repos/{owner}/{repo}/topics`` (``{"names": [...]}``);
  * ``GET /repos/{owner}/{repo}/branches/{branch}``, ``PUT .../protection`` (the four
    required keys: required_status_checks, enforce_admins, required_pull_request_reviews,
    restrictions);
  * ``GET /repos/{owner}/{repo}/actions/secrets/public-key``, ``PUT .../secrets/{name}``
    (201 created, 204 updated; the value must be a sealed box for the repository's key).

GitLab v4 (under ``/api/v4``):
  * ``GET /projects/{url-encoded path}`` (404 ``404 Project Not Found``), ``PUT`` it;
  * ``GET /groups/{path}`` (404 ``404 Group Not Found``);
  * ``POST /projects`` (201; 400 ``{"message": {"name": ["has already been taken"]}}``);
  * ``POST /projects/{id}/protected_branches`` (201; 409 when already protected);
  * ``POST /projects/{id}/variables`` (201; 400 when the key exists or a masked value
    is shorter than 8 characters), ``PUT /projects/{id}/variables/{key}``.

Sources: docs.github.com/en/rest/repos/repos, /rest/repos/branches/branch-protection,
/rest/actions/secrets; docs.gitlab.com/ee/api/projects.html, /api/groups.html,
/api/protected_branches.html, /api/project_level_variables.html.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from nacl.public import PrivateKey

if TYPE_CHECKING:
    from .forge_contract import Account, ForgeContract, Handler, Recorded, Reply

GITHUB_DOCS = "https://docs.github.com/rest"


@dataclasses.dataclass
class FakeRepo:
    kind: str  # github | gitlab
    id: int
    owner: str
    name: str
    visibility: str
    description: str
    bare: Path
    default_branch: str | None = None
    topics: list[str] = dataclasses.field(default_factory=list)
    protected: set[str] = dataclasses.field(default_factory=set)
    secrets: dict[str, str] = dataclasses.field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    key: PrivateKey = dataclasses.field(default_factory=PrivateKey.generate)
    pulls: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # PRs / MRs

    def set_head(self, branch: str) -> None:
        self.default_branch = branch
        subprocess.run(
            ["git", "symbolic-ref", "HEAD", f"refs/heads/{branch}"], cwd=self.bare, check=True
        )

    def branches(self) -> list[str]:
        proc = subprocess.run(
            ["git", "for-each-ref", "--format=%(refname:short)", "refs/heads/"],
            cwd=self.bare,
            capture_output=True,
            text=True,
            check=True,
        )
        return proc.stdout.split()


def _reply(status: int, body: Any, headers: dict[str, str] | None = None) -> Reply:
    from .forge_contract import Reply

    return Reply(status, body, headers or {})


def _body(request: Recorded) -> dict[str, Any]:
    if not request.body:
        return {}
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
    data = json.loads(request.body)
    return data if isinstance(data, dict) else {}


def new_repo(contract: ForgeContract, kind: str, owner: str, name: str, **extra: Any) -> FakeRepo:
    """Create a repository (and its bare git repository) as the forge would."""
    bare = contract.git_root / owner / f"{name}.git"
    bare.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["git", "init", "--quiet", "--bare", "--initial-branch=main", "--template=", str(bare)],
        check=True,
    )
    subprocess.run(["git", "config", "http.receivepack", "true"], cwd=bare, check=True)
    repo = FakeRepo(kind, len(contract.repos) + 100, owner, name, bare=bare, **extra)
    contract.repos[f"{kind}:{owner}/{name}".lower()] = repo
    return repo


# ---------------------------------------------------------------- GitHub


def _gh_auth(contract: ForgeContract, request: Recorded) -> Account | Reply:
    from .forge_contract import _github_token

    account = contract.tokens.get(_github_token(request) or "")
    if account is None:
        body = {"message": "Bad credentials", "documentation_url": GITHUB_DOCS, "status": "401"}
        return _reply(401, body)
    return account


def _gh_json(contract: ForgeContract, repo: FakeRepo) -> dict[str, Any]:
    api = f"{contract.url}/api/v3/repos/{repo.owner}/{repo.name}"
    return {
        "id": repo.id,
        "node_id": f"R_{repo.id}",
        "name": repo.name,
        "full_name": f"{repo.owner}/{repo.name}",
        "private": repo.visibility != "public",
        "visibility": repo.visibility,
        "owner": {"login": repo.owner, "id": 1, "type": "User"},
        "html_url": f"{contract.url}/{repo.owner}/{repo.name}",
        "description": repo.description or None,
        "url": api,
        "clone_url": f"{contract.url}/{repo.owner}/{repo.name}.git",
        "default_branch": repo.default_branch or "main",
        "topics": repo.topics,
    }


def _gh_not_found() -> Reply:
    return _reply(404, {"message": "Not Found", "documentation_url": GITHUB_DOCS, "status": "404"})


def _gh_repo(contract: ForgeContract, m: re.Match[str], request: Recorded) -> FakeRepo | Reply:
    account = _gh_auth(contract, request)
    if not hasattr(account, "login"):
        return account  # type: ignore[return-value]
    repo = contract.repos.get(f"github:{m['owner']}/{m['repo']}".lower())
    return repo if repo is not None else _gh_not_found()


def github_get_repo(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    repo = _gh_repo(contract, m, request)
    return repo if not isinstance(repo, FakeRepo) else _reply(200, _gh_json(contract, repo))


def github_patch_repo(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    repo = _gh_repo(contract, m, request)
    if not isinstance(repo, FakeRepo):
        return repo
    data = _body(request)
    branch = data.get("default_branch")
    if branch is not None:
        if branch not in repo.branches():
            errors = [{"resource": "Repository", "code": "invalid", "field": "default_branch"}]
            return _reply(422, {"message": "Validation Failed", "errors": errors})
        repo.set_head(branch)
    if "description" in data:
        repo.description = data["description"] or ""
    return _reply(200, _gh_json(contract, repo))


def _gh_create(contract: ForgeContract, owner: str, request: Recorded) -> Reply:
    data = _body(request)
    name = str(data.get("name", ""))
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,100}", name):
        errors = [
            {
                "resource": "Repository",
                "code": "custom",
                "field": "name",
                "message": "name is invalid",
            }
        ]
        return _reply(422, {"message": "Repository creation failed.", "errors": errors})
    if f"github:{owner}/{name}".lower() in contract.repos:
        errors = [
            {
                "resource": "Repository",
                "code": "custom",
                "field": "name",
                "message": "name already exists on this account",
            }
        ]
        return _reply(422, {"message": "Repository creation failed.", "errors": errors})
    visibility = data.get("visibility") or ("private" if data.get("private") else "public")
    repo = new_repo(
        contract,
        "github",
        owner,
        name,
        visibility=visibility,
        description=data.get("description") or "",
    )
    return _reply(201, _gh_json(contract, repo))


def github_create_user_repo(contract: ForgeContract, _m: re.Match[str], request: Recorded) -> Reply:
    account = _gh_auth(contract, request)
    if not hasattr(account, "login"):
        return account  # type: ignore[return-value]
    return _gh_create(contract, account.login, request)  # type: ignore[union-attr]


def github_get_org(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    account = _gh_auth(contract, request)
    if not hasattr(account, "login"):
        return account  # type: ignore[return-value]
    if m["org"].lower() not in contract.orgs:
        return _gh_not_found()
    org = m["org"].lower()
    return _reply(
        200,
        {
            "login": org,
            "id": 500,
            "url": f"{contract.url}/api/v3/orgs/{org}",
            "type": "Organization",
        },
    )


def github_create_org_repo(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    account = _gh_auth(contract, request)
    if not hasattr(account, "login"):
        return account  # type: ignore[return-value]
    members = contract.orgs.get(m["org"].lower())
    if members is None:
        return _gh_not_found()
    if account.login not in members:  # type: ignore[union-attr]
        return _reply(
            403,
            {
                "message": "You need admin access to the organization before adding a repository to it.",
                "documentation_url": GITHUB_DOCS,
            },
        )
    return _gh_create(contract, m["org"].lower(), request)


def github_topics(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    repo = _gh_repo(contract, m, request)
    if not isinstance(repo, FakeRepo):
        return repo
    repo.topics = list(_body(request).get("names", []))
    return _reply(200, {"names": repo.topics})


def github_branch(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    repo = _gh_repo(contract, m, request)
    if not isinstance(repo, FakeRepo):
        return repo
    if m["branch"] not in repo.branches():
        return _reply(404, {"message": "Branch not found", "documentation_url": GITHUB_DOCS})
    base = f"{contract.url}/api/v3/repos/{repo.owner}/{repo.name}/branches/{m['branch']}"
    body = {
        "name": m["branch"],
        "commit": {"sha": "0" * 40, "url": ""},
        "protected": m["branch"] in repo.protected,
        "protection_url": base + "/protection",
        "_links": {"self": base},
    }
    return _reply(200, body)


def github_protect(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    repo = _gh_repo(contract, m, request)
    if not isinstance(repo, FakeRepo):
        return repo
    data = _body(request)
    required = (
        "required_status_checks",
        "enforce_admins",
        "required_pull_request_reviews",
        "restrictions",
    )
    missing = [key for key in required if key not in data]
    if missing:
        return _reply(
            422,
            {
                "message": f"Invalid request.\n\n{missing[0]} wasn't supplied.",
                "documentation_url": GITHUB_DOCS,
            },
        )
    repo.protected.add(m["branch"])
    return _reply(
        200, {"url": "", "allow_force_pushes": {"enabled": bool(data.get("allow_force_pushes"))}}
    )


def github_public_key(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    repo = _gh_repo(contract, m, request)
    if not isinstance(repo, FakeRepo):
        return repo
    key = base64.b64encode(bytes(repo.key.public_key)).decode()
    return _reply(200, {"key_id": f"kid{repo.id}", "key": key})


def github_put_secret(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    repo = _gh_repo(contract, m, request)
    if not isinstance(repo, FakeRepo):
        return repo
    data = _body(request)
    if data.get("key_id") != f"kid{repo.id}" or not data.get("encrypted_value"):
        return _reply(422, {"message": "Invalid request.", "documentation_url": GITHUB_DOCS})
    existed = m["name"] in repo.secrets
    repo.secrets[m["name"]] = str(data["encrypted_value"])
    return _reply(204 if existed else 201, {})


# ---------------------------------------------------------------- GitLab


def _gl_auth(contract: ForgeContract, request: Recorded) -> Account | Reply:
    from .forge_contract import _gitlab_account

    return _gitlab_account(contract, request)


def _gl_json(contract: ForgeContract, repo: FakeRepo) -> dict[str, Any]:
    kind = "group" if repo.owner.lower() in contract.orgs else "user"
    return {
        "id": repo.id,
        "name": repo.name,
        "path": repo.name,
        "path_with_namespace": f"{repo.owner}/{repo.name}",
        "namespace": {
            "id": 7,
            "name": repo.owner,
            "path": repo.owner,
            "kind": kind,
            "full_path": repo.owner,
        },
        "visibility": repo.visibility,
        "description": repo.description or None,
        "default_branch": repo.default_branch,
        "topics": repo.topics,
        "http_url_to_repo": f"{contract.url}/{repo.owner}/{repo.name}.git",
        "web_url": f"{contract.url}/{repo.owner}/{repo.name}",
    }


def _gl_repo(contract: ForgeContract, ident: str, request: Recorded) -> FakeRepo | Reply:
    account = _gl_auth(contract, request)
    if not hasattr(account, "login"):
        return account  # type: ignore[return-value]
    ident = unquote(ident)
    for repo in contract.repos.values():
        if repo.kind == "gitlab" and (
            ident == str(repo.id) or ident.lower() == f"{repo.owner}/{repo.name}".lower()
        ):
            return repo
    return _reply(404, {"message": "404 Project Not Found"})


def gitlab_get_project(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    repo = _gl_repo(contract, m["id"], request)
    return repo if not isinstance(repo, FakeRepo) else _reply(200, _gl_json(contract, repo))


def gitlab_put_project(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    repo = _gl_repo(contract, m["id"], request)
    if not isinstance(repo, FakeRepo):
        return repo
    data = _body(request)
    if "default_branch" in data:
        if data["default_branch"] not in repo.branches():
            return _reply(
                400, {"message": {"base": ["Could not change HEAD: branch does not exist"]}}
            )
        repo.set_head(data["default_branch"])
    if "description" in data:
        repo.description = data["description"] or ""
    if "topics" in data:
        topics = data["topics"]
        repo.topics = list(topics) if isinstance(topics, list) else str(topics).split(",")
    return _reply(200, _gl_json(contract, repo))


def gitlab_get_group(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    account = _gl_auth(contract, request)
    if not hasattr(account, "login"):
        return account  # type: ignore[return-value]
    group = unquote(m["id"]).lower()
    if group not in contract.orgs:
        return _reply(404, {"message": "404 Group Not Found"})
    return _reply(
        200,
        {
            "id": 900 + sorted(contract.orgs).index(group),
            "name": group,
            "path": group,
            "full_path": group,
            "kind": "group",
        },
    )


def gitlab_create_project(contract: ForgeContract, _m: re.Match[str], request: Recorded) -> Reply:
    account = _gl_auth(contract, request)
    if not hasattr(account, "login"):
        return account  # type: ignore[return-value]
    data = _body(request)
    owner = account.login  # type: ignore[union-attr]
    if data.get("namespace_id") is not None:
        groups = sorted(contract.orgs)
        index = int(data["namespace_id"]) - 900
        if not 0 <= index < len(groups):
            return _reply(404, {"message": "404 Namespace Not Found"})
        owner = groups[index]
        if account.login not in contract.orgs[owner]:  # type: ignore[union-attr]
            return _reply(403, {"message": "403 Forbidden"})
    path = str(data.get("path") or data.get("name") or "")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", path) or path.endswith(
        (".git", ".atom")
    ):
        return _reply(
            400,
            {
                "message": {
                    "path": [
                        "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-', end in '.git' or end in '.atom'"
                    ]
                }
            },
        )
    if f"gitlab:{owner}/{path}".lower() in contract.repos:
        return _reply(
            400,
            {"message": {"name": ["has already been taken"], "path": ["has already been taken"]}},
        )
    repo = new_repo(
        contract,
        "gitlab",
        owner,
        path,
        visibility=data.get("visibility", "private"),
        description=data.get("description") or "",
    )
    return _reply(201, _gl_json(contract, repo))


def gitlab_protect(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    repo = _gl_repo(contract, m["id"], request)
    if not isinstance(repo, FakeRepo):
        return repo
    name = str(_body(request).get("name", ""))
    if name in repo.protected:
        return _reply(409, {"message": f"Protected branch '{name}' already exists"})
    repo.protected.add(name)
    return _reply(201, {"id": 1, "name": name, "allow_force_push": False})


def _gl_variable(repo: FakeRepo, data: dict[str, Any]) -> Reply | None:
    value = str(data.get("value", ""))
    if data.get("masked") and (len(value) < 8 or not re.fullmatch(r"[A-Za-z0-9+/=@:.~_-]+", value)):
        return _reply(400, {"message": {"value": ["is invalid"]}})
    repo.variables[str(data["key"])] = {**data, "value": value}
    return None


def gitlab_create_variable(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    repo = _gl_repo(contract, m["id"], request)
    if not isinstance(repo, FakeRepo):
        return repo
    data = _body(request)
    if data.get("key") in repo.variables:
        return _reply(400, {"message": {"key": [f"({data['key']}) has already been taken"]}})
    refused = _gl_variable(repo, data)
    return refused or _reply(
        201, {"key": data["key"], "masked": data.get("masked"), "protected": data.get("protected")}
    )


def gitlab_update_variable(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    repo = _gl_repo(contract, m["id"], request)
    if not isinstance(repo, FakeRepo):
        return repo
    if m["key"] not in repo.variables:
        return _reply(404, {"message": "404 Variable Not Found"})
    data = {**_body(request), "key": m["key"]}
    refused = _gl_variable(repo, data)
    return refused or _reply(
        200, {"key": m["key"], "masked": data.get("masked"), "protected": data.get("protected")}
    )


_NAME = r"[^/]+"
REPO_ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", rf"/api/v3/repos/(?P<owner>{_NAME})/(?P<repo>{_NAME})", github_get_repo),
    ("PATCH", rf"/api/v3/repos/(?P<owner>{_NAME})/(?P<repo>{_NAME})", github_patch_repo),
    ("POST", r"/api/v3/user/repos", github_create_user_repo),
    ("GET", rf"/api/v3/orgs/(?P<org>{_NAME})", github_get_org),
    ("POST", rf"/api/v3/orgs/(?P<org>{_NAME})/repos", github_create_org_repo),
    ("PUT", rf"/api/v3/repos/(?P<owner>{_NAME})/(?P<repo>{_NAME})/topics", github_topics),
    (
        "GET",
        rf"/api/v3/repos/(?P<owner>{_NAME})/(?P<repo>{_NAME})/branches/(?P<branch>{_NAME})",
        github_branch,
    ),
    (
        "PUT",
        rf"/api/v3/repos/(?P<owner>{_NAME})/(?P<repo>{_NAME})/branches/(?P<branch>{_NAME})/protection",
        github_protect,
    ),
    (
        "GET",
        rf"/api/v3/repos/(?P<owner>{_NAME})/(?P<repo>{_NAME})/actions/secrets/public-key",
        github_public_key,
    ),
    (
        "PUT",
        rf"/api/v3/repos/(?P<owner>{_NAME})/(?P<repo>{_NAME})/actions/secrets/(?P<name>{_NAME})",
        github_put_secret,
    ),
    ("GET", rf"/api/v4/projects/(?P<id>{_NAME})", gitlab_get_project),
    ("PUT", rf"/api/v4/projects/(?P<id>{_NAME})", gitlab_put_project),
    ("POST", r"/api/v4/projects", gitlab_create_project),
    ("GET", rf"/api/v4/groups/(?P<id>{_NAME})", gitlab_get_group),
    ("POST", rf"/api/v4/projects/(?P<id>{_NAME})/protected_branches", gitlab_protect),
    ("POST", rf"/api/v4/projects/(?P<id>{_NAME})/variables", gitlab_create_variable),
    (
        "PUT",
        rf"/api/v4/projects/(?P<id>{_NAME})/variables/(?P<key>{_NAME})",
        gitlab_update_variable,
    ),
]
