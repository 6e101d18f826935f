"""Repository operations on GitHub (PyGithub) and GitLab (python-gitlab) for ``publish``.

Both clients are the ones ``credentials test`` already uses: maintained, typed
enough for mypy, and covering every endpoint publishing needs (repositories,
topics, branch protection, Actions secrets sealed with PyNaCl, CI/CD variables).
Their own retry loops are off: :mod:`codeforge.integrations.retry` retries 429
and 5xx within a bound, honouring ``Retry-After`` and the rate-limit reset.

Errors name the provider and host, never the token.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from codeforge.core.publishing import PullRequest, RemoteRepo, Visibility
from codeforge.errors import (
    CodeForgeError,
    ConflictError,
    NetworkError,
    NotFoundError,
    UsageError,
    ValidationError,
)
from codeforge.integrations.forges import (
    TIMEOUT,
    GitHubForge,
    _client,
    github_api,
    refused,
    unreachable,
)
from codeforge.integrations.retry import RETRIED, RetryPolicy, Transient, with_retries

T = TypeVar("T")


def basic_header(user: str, token: str) -> str:
    """``Authorization: Basic base64(user:token)``, the form git sends over https."""
    pair = base64.b64encode(f"{user}:{token}".encode()).decode("ascii")
    return f"Authorization: Basic {pair}"


def _refusal(provider: str, host: str, status: int, message: str, scopes: str) -> CodeForgeError:
    if status in (401, 403):
        error = refused(provider, host, status, message)
        if status == 403 and scopes:
            error.hint = f"the token needs the scope {scopes}"
            error.message += f"; needed scope: {scopes}"
        return error
    if status == 404:
        return NotFoundError(f"{provider} at {host}: {message or 'Not Found'}")
    if status in (400, 409, 422):
        if "already" in message.lower() or "taken" in message.lower():
            return ConflictError(f"{provider} at {host} refused: {message}")
        return ValidationError(f"{provider} at {host} refused: {message}")
    return NetworkError(
        f"{provider} at {host} answered {status} {message}".rstrip(), hint="try again later"
    )


def _rate_limited(headers: dict[str, str]) -> bool:
    """A 403 of GitHub's primary (no requests left) or secondary (Retry-After) rate limit."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return lowered.get("x-ratelimit-remaining") == "0" or "retry-after" in lowered


class GitHubRepos:
    """:class:`codeforge.core.publishing.ForgeRepos` on GitHub REST v3."""

    provider = "github"

    def __init__(self, host: str, token: str, login: str, policy: RetryPolicy) -> None:
        self._github = _client("github")
        self._requests = _client("requests")
        self._host, self._login, self._policy = host, login, policy
        self._header = basic_header("x-access-token", token)
        self._client = self._github.Github(
            auth=self._github.Auth.Token(token),
            base_url=github_api(host),
            timeout=TIMEOUT,
            retry=None,
            # No client-side pacing: PyGithub would sleep a second between two writes of
            # one client (a fleet's pull requests, one after another). GitHub's secondary
            # rate limit answers 403/429 with Retry-After, which ``_classify`` retries.
            seconds_between_requests=None,
            seconds_between_writes=None,
        )
        # Repositories already known (their owner and name recorded) are addressed
        # without a GET first: PyGithub >= 2.6 sets laziness on the client, not per call.
        self._lazy = self._client.withLazy(True)

    @property
    def login(self) -> str:
        return self._login

    def _classify(self, exc: BaseException) -> Transient | None:
        if isinstance(exc, self._github.GithubException) and (
            exc.status in RETRIED or (exc.status == 403 and _rate_limited(exc.headers or {}))
        ):
            return Transient(exc.status, exc.headers or {}, exc)
        return None

    def _call(self, call: Callable[[], T]) -> T:
        try:
            return with_retries(call, self._classify, self._policy)
        except self._github.GithubException as exc:
            data = exc.data if isinstance(exc.data, dict) else {}
            message = str(data.get("message", ""))
            details = [
                str(e.get("message", "")) for e in data.get("errors", []) if isinstance(e, dict)
            ]
            if details:
                message = f"{message} ({'; '.join(d for d in details if d)})"
            scopes = str((exc.headers or {}).get("x-accepted-oauth-scopes", ""))
            raise _refusal(self.provider, self._host, exc.status, message, scopes) from None
        except self._requests.RequestException as exc:
            raise unreachable(self.provider, self._host, exc) from None

    def _repo(self, raw: Any) -> RemoteRepo:
        return RemoteRepo(
            str(raw.owner.login), str(raw.name), str(raw.clone_url), str(raw.html_url)
        )

    def find(self, owner: str, name: str) -> RemoteRepo | None:
        try:
            return self._call(lambda: self._repo(self._client.get_repo(f"{owner}/{name}")))
        except NotFoundError:
            return None

    def check_owner(self, owner: str) -> None:
        if owner.lower() == self._login.lower():
            return
        try:
            self._call(lambda: self._client.get_organization(owner).login)
        except NotFoundError:
            raise NotFoundError(
                f"github at {self._host} has no organization {owner!r} the token can see",
                where="--owner",
            ) from None

    def create(self, owner: str, name: str, visibility: Visibility, description: str) -> RemoteRepo:
        private = visibility != "public"
        if owner.lower() == self._login.lower():
            if visibility == "internal":
                raise UsageError(
                    "internal repositories exist only in organizations", where="--internal"
                )
            return self._call(
                lambda: self._repo(
                    self._client.get_user().create_repo(
                        name, description=description, private=private
                    )
                )
            )
        org = self._call(lambda: self._client.get_organization(owner))
        return self._call(
            lambda: self._repo(
                org.create_repo(
                    name, description=description, private=private, visibility=visibility
                )
            )
        )

    def _remote(self, repo: RemoteRepo) -> Any:
        return self._lazy.get_repo(f"{repo.owner}/{repo.name}")

    def configure(
        self, repo: RemoteRepo, branch: str, description: str | None, topics: Sequence[str]
    ) -> None:
        remote = self._remote(repo)
        if description is None:
            self._call(lambda: remote.edit(default_branch=branch))
        else:
            self._call(lambda: remote.edit(default_branch=branch, description=description))
        if topics:
            self._call(lambda: remote.replace_topics(list(topics)))

    def protect(self, repo: RemoteRepo, branch: str) -> None:
        remote = self._remote(repo)
        self._call(lambda: remote.get_branch(branch).edit_protection(allow_force_pushes=False))

    def set_secret(self, repo: RemoteRepo, name: str, value: str) -> None:
        """An Actions secret, sealed (libsodium sealed box, PyNaCl) with the repository's key."""
        remote = self._remote(repo)
        self._call(lambda: remote.create_secret(name, value, secret_type="actions"))  # noqa: S106

    def push_header(self) -> str:
        return self._header

    @staticmethod
    def _pull(raw: Any) -> PullRequest:
        return PullRequest(
            int(raw.number), str(raw.html_url), str(raw.head.ref), str(raw.base.ref),
            str(raw.title or ""), str(raw.body or ""),
        )  # fmt: skip

    def find_pull(self, repo: RemoteRepo, head: str, base: str) -> PullRequest | None:
        """``GET /repos/{owner}/{repo}/pulls?state=open&head=OWNER:BRANCH&base=BASE``."""
        remote = self._remote(repo)

        def first() -> PullRequest | None:
            found = remote.get_pulls(state="open", head=f"{repo.owner}:{head}", base=base)
            return next((self._pull(raw) for raw in found), None)

        return self._call(first)

    def open_pull(
        self, repo: RemoteRepo, head: str, base: str, title: str, body: str
    ) -> PullRequest:
        """``POST /repos/{owner}/{repo}/pulls``."""
        remote = self._remote(repo)
        return self._call(
            lambda: self._pull(remote.create_pull(base=base, head=head, title=title, body=body))
        )

    def edit_pull(self, repo: RemoteRepo, pull: PullRequest, title: str, body: str) -> PullRequest:
        """``PATCH /repos/{owner}/{repo}/pulls/{number}``."""
        remote = self._remote(repo)

        def edit() -> PullRequest:
            raw = remote.get_pull(pull.number)
            raw.edit(title=title, body=body)
            return self._pull(raw)

        return self._call(edit)


class PublishingGitHub(GitHubForge):
    """GitHub as a forge that can also publish (``repos``)."""

    def repos(self, host: str, token: str, login: str) -> GitHubRepos:
        return GitHubRepos(host, token, login, RetryPolicy())
