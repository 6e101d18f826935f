"""Pull request (GitHub) and merge request (GitLab) endpoints of the forge contract server.

GitHub REST v3 (under ``/api/v3``), as docs.github.com/en/rest/pulls/pulls documents them:
  * ``GET /repos/{owner}/{repo}/pulls``: ``state`` (open, closed, all; default open),
    ``head`` (``user:ref-name``), ``base``, ``per_page``/``page`` with a ``Link`` header;
  * ``POST /repos/{owner}/{repo}/pulls``: ``title``, ``head``, ``base``, ``body``; 201;
    422 ``Validation Failed`` when the head branch does not exist (``field: head``),
    when there are no commits between the branches, or when ``A pull request already
    exists for owner:branch.``;
  * ``GET /repos/{owner}/{repo}/pulls/{number}`` (404), ``PATCH`` it (title, body, state, base).

GitLab v4, as docs.gitlab.com/ee/api/merge_requests.html documents them:
  * ``GET /projects/:id/merge_requests``: ``state`` (opened, closed, merged, all),
    ``source_branch``, ``target_branch``, ``per_page``/``page`` with ``X-Total``/``X-Next-Page``;
  * ``POST /projects/:id/merge_requests``: ``source_branch``, ``target_branch``, ``title``,
    ``description``; 201; 409 ``Another open merge request already exists for this source
    branch: !IID``; 400 when a branch is missing;
  * ``GET /projects/:id/merge_requests/:iid`` (404 ``404 Not found``), ``PUT`` it
    (title, description, state_event).
"""

from __future__ import annotations

import re
import subprocess
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from .forge_repos_contract import (
    GITHUB_DOCS,
    FakeRepo,
    _body,
    _gh_repo,
    _gl_repo,
    _reply,
)

if TYPE_CHECKING:
    from .forge_contract import ForgeContract, Handler, Recorded, Reply


def _github_token(request: Recorded) -> str | None:
    from .forge_contract import _github_token as token

    return token(request)


def _gitlab_token(request: Recorded) -> str | None:
    from .forge_contract import _gitlab_token as token

    return token(request)


def _query(request: Recorded) -> dict[str, str]:
    _, _, query = request.path.partition("?")
    return {k: v[-1] for k, v in parse_qs(query).items()}


def _sha(repo: FakeRepo, branch: str) -> str | None:
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
        cwd=repo.bare, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return proc.stdout.strip() or None


def _page(request: Recorded, items: list[Any]) -> tuple[list[Any], int, int, int]:
    query = _query(request)
    per_page = max(1, min(100, int(query.get("per_page", "30"))))
    page = max(1, int(query.get("page", "1")))
    last = max(1, -(-len(items) // per_page))
    return items[(page - 1) * per_page : page * per_page], page, per_page, last


# ---------------------------------------------------------------- GitHub


def _gh_pull_json(contract: ForgeContract, repo: FakeRepo, pull: dict[str, Any]) -> dict[str, Any]:
    api = f"{contract.url}/api/v3/repos/{repo.owner}/{repo.name}"

    def side(ref: str) -> dict[str, Any]:
        return {
            "label": f"{repo.owner}:{ref}",
            "ref": ref,
            "sha": _sha(repo, ref) or "0" * 40,
            "repo": {"name": repo.name, "full_name": f"{repo.owner}/{repo.name}", "url": api},
        }

    return {
        "id": 7000 + pull["number"],
        "node_id": f"PR_{pull['number']}",
        "number": pull["number"],
        "state": pull["state"],
        "title": pull["title"],
        "body": pull["body"],
        "url": f"{api}/pulls/{pull['number']}",
        "html_url": f"{contract.url}/{repo.owner}/{repo.name}/pull/{pull['number']}",
        "user": {"login": pull["author"]},
        "head": side(pull["head"]),
        "base": side(pull["base"]),
        "merged": False,
        "draft": False,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }


def _gh_invalid(message: str | None = None, field: str | None = None) -> Reply:
    error: dict[str, Any] = {"resource": "PullRequest", "code": "custom" if message else "invalid"}
    if message:
        error["message"] = message
    if field:
        error["field"] = field
    return _reply(
        422,
        {"message": "Validation Failed", "errors": [error], "documentation_url": GITHUB_DOCS},
    )


def github_list_pulls(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    repo = _gh_repo(contract, m, request)
    if not isinstance(repo, FakeRepo):
        return repo
    query = _query(request)
    state = query.get("state", "open")
    found = [p for p in repo.pulls if state == "all" or p["state"] == state]
    if "head" in query:
        found = [p for p in found if f"{repo.owner}:{p['head']}".lower() == query["head"].lower()]
    if "base" in query:
        found = [p for p in found if p["base"] == query["base"]]
    shown, page, per_page, last = _page(request, found)
    headers: dict[str, str] = {}
    if page < last:
        url = f"{contract.url}/api/v3/repos/{repo.owner}/{repo.name}/pulls?per_page={per_page}"
        headers["Link"] = f'<{url}&page={page + 1}>; rel="next", <{url}&page={last}>; rel="last"'
    return _reply(200, [_gh_pull_json(contract, repo, p) for p in shown], headers)


def github_create_pull(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    repo = _gh_repo(contract, m, request)
    if not isinstance(repo, FakeRepo):
        return repo
    data = _body(request)
    head = str(data.get("head", "")).rpartition(":")[2]
    base = str(data.get("base", ""))
    if not data.get("title"):
        return _gh_invalid(field="title")
    head_sha, base_sha = _sha(repo, head), _sha(repo, base)
    if head_sha is None:
        return _gh_invalid(field="head")
    if base_sha is None:
        return _gh_invalid(field="base")
    if head_sha == base_sha:
        return _gh_invalid(f"No commits between {base} and {head}")
    if any(p["state"] == "open" and (p["head"], p["base"]) == (head, base) for p in repo.pulls):
        return _gh_invalid(f"A pull request already exists for {repo.owner}:{head}.")
    account = contract.tokens[_github_token(request) or ""]
    pull = {
        "number": len(repo.pulls) + 1, "state": "open", "title": data["title"],
        "body": data.get("body") or "", "head": head, "base": base, "author": account.login,
    }  # fmt: skip
    repo.pulls.append(pull)
    return _reply(201, _gh_pull_json(contract, repo, pull))


def _gh_pull(repo: FakeRepo, number: str) -> dict[str, Any] | None:
    return next((p for p in repo.pulls if str(p["number"]) == number), None)


def _pull_of(
    repo: FakeRepo | Reply, number: str, missing: dict[str, Any]
) -> tuple[FakeRepo, dict[str, Any]] | Reply:
    """The repository and its pull (merge) request ``number``, or the error reply."""
    if not isinstance(repo, FakeRepo):
        return repo
    pull = _gh_pull(repo, number)
    return _reply(404, missing) if pull is None else (repo, pull)


def _gh_found(
    contract: ForgeContract, m: re.Match[str], request: Recorded
) -> tuple[FakeRepo, dict[str, Any]] | Reply:
    missing = {"message": "Not Found", "documentation_url": GITHUB_DOCS}
    return _pull_of(_gh_repo(contract, m, request), m["number"], missing)


def github_get_pull(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    found = _gh_found(contract, m, request)
    return found if not isinstance(found, tuple) else _reply(200, _gh_pull_json(contract, *found))


def github_edit_pull(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    found = _gh_found(contract, m, request)
    if not isinstance(found, tuple):
        return found
    repo, pull = found
    data = _body(request)
    if data.get("state") not in (None, "open", "closed"):
        return _gh_invalid(field="state")
    for key in ("title", "body", "state", "base"):
        if key in data:
            pull[key] = data[key] or ""
    pull["edits"] = pull.get("edits", 0) + 1
    return _reply(200, _gh_pull_json(contract, repo, pull))


# ---------------------------------------------------------------- GitLab


def _gl_mr_json(contract: ForgeContract, repo: FakeRepo, mr: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": 8000 + mr["number"],
        "iid": mr["number"],
        "project_id": repo.id,
        "title": mr["title"],
        "description": mr["body"],
        "state": mr["state"],
        "source_branch": mr["head"],
        "target_branch": mr["base"],
        "source_project_id": repo.id,
        "target_project_id": repo.id,
        "sha": _sha(repo, mr["head"]),
        "author": {"username": mr["author"]},
        "web_url": f"{contract.url}/{repo.owner}/{repo.name}/-/merge_requests/{mr['number']}",
        "merge_status": "can_be_merged",
        "created_at": "2026-01-01T00:00:00.000Z",
    }


def gitlab_list_mrs(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    repo = _gl_repo(contract, m["id"], request)
    if not isinstance(repo, FakeRepo):
        return repo
    query = _query(request)
    state = query.get("state", "all")
    found = [p for p in repo.pulls if state == "all" or p["state"] == state]
    if "source_branch" in query:
        found = [p for p in found if p["head"] == query["source_branch"]]
    if "target_branch" in query:
        found = [p for p in found if p["base"] == query["target_branch"]]
    shown, page, per_page, last = _page(request, found)
    headers = {
        "X-Total": str(len(found)),
        "X-Total-Pages": str(last),
        "X-Per-Page": str(per_page),
        "X-Page": str(page),
        "X-Next-Page": str(page + 1) if page < last else "",
        "X-Prev-Page": str(page - 1) if page > 1 else "",
    }
    return _reply(200, [_gl_mr_json(contract, repo, p) for p in shown], headers)


def gitlab_create_mr(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    repo = _gl_repo(contract, m["id"], request)
    if not isinstance(repo, FakeRepo):
        return repo
    data = _body(request)
    head, base = str(data.get("source_branch", "")), str(data.get("target_branch", ""))
    missing = [k for k in ("source_branch", "target_branch", "title") if not data.get(k)]
    if missing:
        return _reply(400, {"error": f"{missing[0]} is missing"})
    for branch in (head, base):
        if _sha(repo, branch) is None:
            return _reply(400, {"message": [f"Branch '{branch}' does not exist"]})
    for mr in repo.pulls:
        if mr["state"] == "opened" and (mr["head"], mr["base"]) == (head, base):
            message = (
                f"Another open merge request already exists for this source branch: !{mr['number']}"
            )
            return _reply(409, {"message": [message]})
    account = contract.tokens[_gitlab_token(request) or ""]
    mr = {
        "number": len(repo.pulls) + 1, "state": "opened", "title": data["title"],
        "body": data.get("description") or "", "head": head, "base": base,
        "author": account.login,
    }  # fmt: skip
    repo.pulls.append(mr)
    return _reply(201, _gl_mr_json(contract, repo, mr))


def _gl_mr(
    contract: ForgeContract, m: re.Match[str], request: Recorded
) -> tuple[FakeRepo, dict[str, Any]] | Reply:
    return _pull_of(_gl_repo(contract, m["id"], request), m["iid"], {"message": "404 Not found"})


def gitlab_get_mr(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    found = _gl_mr(contract, m, request)
    return found if not isinstance(found, tuple) else _reply(200, _gl_mr_json(contract, *found))


def gitlab_update_mr(contract: ForgeContract, m: re.Match[str], request: Recorded) -> Reply:
    found = _gl_mr(contract, m, request)
    if not isinstance(found, tuple):
        return found
    repo, mr = found
    data = _body(request)
    if "title" in data:
        mr["title"] = data["title"]
    if "description" in data:
        mr["body"] = data["description"] or ""
    if data.get("state_event") in ("close", "reopen"):
        mr["state"] = "closed" if data["state_event"] == "close" else "opened"
    mr["edits"] = mr.get("edits", 0) + 1
    return _reply(200, _gl_mr_json(contract, repo, mr))


_NAME = r"[^/]+"
_GH = rf"/api/v3/repos/(?P<owner>{_NAME})/(?P<repo>{_NAME})/pulls"
_GL = rf"/api/v4/projects/(?P<id>{_NAME})/merge_requests"
PULL_ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", _GH, github_list_pulls),
    ("POST", _GH, github_create_pull),
    ("GET", _GH + r"/(?P<number>\d+)", github_get_pull),
    ("PATCH", _GH + r"/(?P<number>\d+)", github_edit_pull),
    ("GET", _GL, gitlab_list_mrs),
    ("POST", _GL, gitlab_create_mr),
    ("GET", _GL + r"/(?P<iid>\d+)", gitlab_get_mr),
    ("PUT", _GL + r"/(?P<iid>\d+)", gitlab_update_mr),
]
