"""Repository operations on GitLab v4 (python-gitlab) for ``publish``.

Projects go to the user's namespace or to a group (``--owner``); CI/CD
variables are created masked and protected. python-gitlab's own rate-limit
sleeping is off (``obey_rate_limit=False``): :mod:`codeforge.integrations.retry`
retries within a bound, reading the headers of the last response.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from codeforge.core.credentials import base_url
from codeforge.core.publishing import PullRequest, RemoteRepo, Visibility
from codeforge.errors import ConflictError, NotFoundError
from codeforge.integrations.forge_repos import _refusal, basic_header
from codeforge.integrations.forges import TIMEOUT, GitLabForge, _client, unreachable
from codeforge.integrations.retry import RETRIED, RetryPolicy, Transient, with_retries

T = TypeVar("T")
_MAINTAINER = 40
_NO_SLEEP: dict[str, Any] = {"obey_rate_limit": False}


class GitLabRepos:
    """:class:`codeforge.core.publishing.ForgeRepos` on GitLab REST v4."""

    provider = "gitlab"

    def __init__(self, host: str, token: str, login: str, policy: RetryPolicy) -> None:
        self._gitlab = _client("gitlab")
        self._requests = _client("requests")
        self._host, self._login, self._policy = host, login, policy
        self._header = basic_header("oauth2", token)
        self._client = self._gitlab.Gitlab(
            base_url(host), private_token=token, timeout=TIMEOUT, keep_base_url=True
        )
        self._last: dict[str, str] = {}
        self._client.session.hooks["response"].append(self._remember)

    def _remember(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self._last = dict(response.headers)

    @property
    def login(self) -> str:
        return self._login

    def _classify(self, exc: BaseException) -> Transient | None:
        if isinstance(exc, self._gitlab.GitlabError) and exc.response_code in RETRIED:
            return Transient(int(exc.response_code), self._last, exc)
        return None

    def _call(self, call: Callable[[], T]) -> T:
        try:
            return with_retries(call, self._classify, self._policy)
        except self._gitlab.GitlabError as exc:
            message = exc.error_message
            if isinstance(message, dict):
                message = "; ".join(f"{k} {' '.join(map(str, v))}" for k, v in message.items())
            scopes = ""
            if exc.response_code == 403 and "insufficient_scope" in str(message):
                scopes = "api"
            status = int(exc.response_code or 0)
            raise _refusal(self.provider, self._host, status, str(message), scopes) from None
        except self._requests.RequestException as exc:
            raise unreachable(self.provider, self._host, exc) from None

    @staticmethod
    def _repo(raw: Any) -> RemoteRepo:
        namespace = str(raw.namespace["full_path"])
        return RemoteRepo(namespace, str(raw.path), str(raw.http_url_to_repo), str(raw.web_url))

    def _project(self, repo: RemoteRepo) -> Any:
        return self._client.projects.get(f"{repo.owner}/{repo.name}", lazy=True)

    def find(self, owner: str, name: str) -> RemoteRepo | None:
        try:
            return self._call(
                lambda: self._repo(self._client.projects.get(f"{owner}/{name}", **_NO_SLEEP))
            )
        except NotFoundError:
            return None

    def _group(self, owner: str) -> Any:
        try:
            return self._call(lambda: self._client.groups.get(owner, **_NO_SLEEP))
        except NotFoundError:
            raise NotFoundError(
                f"gitlab at {self._host} has no group {owner!r} the token can see",
                where="--owner",
            ) from None

    def check_owner(self, owner: str) -> None:
        if owner.lower() != self._login.lower():
            self._group(owner)

    def create(self, owner: str, name: str, visibility: Visibility, description: str) -> RemoteRepo:
        data: dict[str, Any] = {
            "name": name,
            "path": name,
            "visibility": visibility,
            "description": description,
            "initialize_with_readme": False,
        }
        if owner.lower() != self._login.lower():
            data["namespace_id"] = self._group(owner).id
        return self._call(lambda: self._repo(self._client.projects.create(data, **_NO_SLEEP)))

    def configure(
        self, repo: RemoteRepo, branch: str, description: str | None, topics: Sequence[str]
    ) -> None:
        data: dict[str, Any] = {"default_branch": branch}
        if description is not None:
            data["description"] = description
        if topics:
            data["topics"] = list(topics)
        path = f"{repo.owner}/{repo.name}"
        self._call(lambda: self._client.projects.update(path, data, **_NO_SLEEP))

    def protect(self, repo: RemoteRepo, branch: str) -> None:
        data = {
            "name": branch,
            "push_access_level": _MAINTAINER,
            "merge_access_level": _MAINTAINER,
            "allow_force_push": False,
        }
        project = self._project(repo)
        try:
            self._call(lambda: project.protectedbranches.create(data, **_NO_SLEEP))
        except ConflictError:
            pass  # protected by an earlier run: what we want

    def set_secret(self, repo: RemoteRepo, name: str, value: str) -> None:
        """A CI/CD variable, masked and protected (replaced when it exists)."""
        data = {"key": name, "value": value, "masked": True, "protected": True}
        project = self._project(repo)
        try:
            self._call(lambda: project.variables.create(data, **_NO_SLEEP))
        except ConflictError:
            self._call(lambda: project.variables.update(name, data, **_NO_SLEEP))

    def push_header(self) -> str:
        return self._header

    @staticmethod
    def _merge_request(raw: Any) -> PullRequest:
        data: dict[str, Any] = raw if isinstance(raw, dict) else raw.attributes
        return PullRequest(
            int(data["iid"]), str(data["web_url"]), str(data["source_branch"]),
            str(data["target_branch"]), str(data.get("title") or ""),
            str(data.get("description") or ""),
        )  # fmt: skip

    def find_pull(self, repo: RemoteRepo, head: str, base: str) -> PullRequest | None:
        """``GET /projects/:id/merge_requests?state=opened&source_branch=H&target_branch=B``."""
        project = self._project(repo)
        found = self._call(
            lambda: project.mergerequests.list(
                state="opened", source_branch=head, target_branch=base, get_all=False,
                **_NO_SLEEP,
            )
        )  # fmt: skip
        return self._merge_request(found[0]) if found else None

    def open_pull(
        self, repo: RemoteRepo, head: str, base: str, title: str, body: str
    ) -> PullRequest:
        """``POST /projects/:id/merge_requests``."""
        data = {"source_branch": head, "target_branch": base, "title": title, "description": body}
        project = self._project(repo)
        created = self._call(lambda: project.mergerequests.create(data, **_NO_SLEEP))
        return self._merge_request(created)

    def edit_pull(self, repo: RemoteRepo, pull: PullRequest, title: str, body: str) -> PullRequest:
        """``PUT /projects/:id/merge_requests/:iid``."""
        project = self._project(repo)
        data = {"title": title, "description": body}
        edited = self._call(lambda: project.mergerequests.update(pull.number, data, **_NO_SLEEP))
        return self._merge_request(edited)


class PublishingGitLab(GitLabForge):
    """GitLab as a forge that can also publish (``repos``)."""

    def repos(self, host: str, token: str, login: str) -> GitLabRepos:
        return GitLabRepos(host, token, login, RetryPolicy())
