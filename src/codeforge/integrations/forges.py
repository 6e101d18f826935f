"""GitHub and GitLab as forges, through their maintained clients (PyGithub, python-gitlab).

Registered by the default plugin :mod:`codeforge.integrations.plugin`. The clients live in the
``forges`` extra: they are imported when a forge is first asked something, and a
missing one is a clear error naming the extra.

Errors name the provider and host, never the token: a 401 is a
:class:`CredentialError`, a 403 one with the forge's own message, an unreachable
host or a 5xx a :class:`NetworkError` (exit 10).
"""

from __future__ import annotations

import dataclasses
import importlib
from types import ModuleType
from typing import Final

from codeforge.core.credentials import Account, base_url
from codeforge.errors import CredentialError, NetworkError

TIMEOUT: Final = 15
_NETWORK_HINT: Final = "check the network connection and --host (behind a proxy: HTTPS_PROXY)"


def _client(module: str, extra: str = "forges") -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise CredentialError(
            f"the {module} client is not installed",
            hint=f"pip install 'codeforge[{extra}]'",
        ) from exc


def refused(provider: str, host: str, status: int, message: str) -> CredentialError:
    """The error for a 401 or 403 from ``provider`` at ``host``."""
    if status == 401:
        return CredentialError(
            f"{provider} at {host} refused the token (401 {message or 'Unauthorized'})",
            hint=f"the token is invalid, expired or revoked: `codeforge credentials set {provider} --host {host}`",
        )
    return CredentialError(
        f"{provider} at {host} denied the request ({status} {message or 'Forbidden'})",
        hint="the token may lack a scope or the account access",
    )


def unreachable(provider: str, host: str, exc: BaseException) -> NetworkError:
    """The error for a forge that cannot be reached."""
    return NetworkError(
        f"cannot reach {provider} at {host} ({type(exc).__name__})", hint=_NETWORK_HINT
    )


def github_api(host: str) -> str:
    """The REST v3 root: api.github.com, or ``/api/v3`` on GitHub Enterprise Server."""
    return "https://api.github.com" if host == "github.com" else f"{base_url(host)}/api/v3"


@dataclasses.dataclass(frozen=True)
class GitHubForge:
    """GitHub.com and GitHub Enterprise Server (REST v3)."""

    name: str = "github"
    default_host: str = "github.com"
    token_env: str = "GITHUB_TOKEN"  # noqa: S105 - a variable name
    # Creating repositories (private ones too) and pushing workflow files.
    needed: tuple[str, ...] = ("repo", "workflow")

    def whoami(self, host: str, token: str) -> Account:
        """``GET /user``; scopes from its ``X-OAuth-Scopes`` header (absent: fine-grained)."""
        github = _client("github")
        requests = _client("requests")
        client = github.Github(
            auth=github.Auth.Token(token),
            base_url=github_api(host),
            timeout=TIMEOUT,
            retry=None,
            seconds_between_requests=None,
        )
        try:
            user = client.get_user()
            login, display = str(user.login), user.name
        except github.GithubException as exc:
            message = exc.data.get("message", "") if isinstance(exc.data, dict) else ""
            if exc.status in (401, 403):
                raise refused(self.name, host, exc.status, str(message)) from None
            raise NetworkError(
                f"{self.name} at {host} answered {exc.status} {message}".rstrip(),
                hint="try again later",
            ) from None
        except requests.RequestException as exc:
            raise unreachable(self.name, host, exc) from None
        finally:
            client.close()
        scopes = client.oauth_scopes
        found = None if scopes is None else tuple(s for s in scopes if s)
        return Account(self.name, host, login, display, found, self.needed)


@dataclasses.dataclass(frozen=True)
class GitLabForge:
    """GitLab.com and self-managed GitLab (REST v4)."""

    name: str = "gitlab"
    default_host: str = "gitlab.com"
    token_env: str = "GITLAB_TOKEN"  # noqa: S105 - a variable name
    needed: tuple[str, ...] = ("api",)

    def whoami(self, host: str, token: str) -> Account:
        """``GET /api/v4/user``, then ``GET /api/v4/personal_access_tokens/self`` for scopes."""
        gitlab = _client("gitlab")
        requests = _client("requests")
        client = gitlab.Gitlab(
            base_url(host), private_token=token, timeout=TIMEOUT, keep_base_url=True
        )
        try:
            client.auth()
            user = client.user
            login, display = str(user.username), getattr(user, "name", None)
            scopes = self._scopes(client, gitlab)
        except gitlab.GitlabError as exc:
            status = int(exc.response_code or 0)
            if status in (401, 403):
                raise refused(self.name, host, status, str(exc.error_message)) from None
            raise NetworkError(
                f"{self.name} at {host} answered {status} {exc.error_message}",
                hint="try again later",
            ) from None
        except requests.RequestException as exc:
            raise unreachable(self.name, host, exc) from None
        finally:
            client.session.close()
        return Account(self.name, host, login, display, scopes, self.needed)

    @staticmethod
    def _scopes(client: object, gitlab: ModuleType) -> tuple[str, ...] | None:
        """The token's scopes; None when this GitLab cannot say (older than 16.0, or not a PAT)."""
        try:
            token = client.personal_access_tokens.get("self")  # type: ignore[attr-defined]
        except gitlab.GitlabGetError as exc:
            if exc.response_code in (401, 403, 404):
                return None
            raise
        return tuple(str(s) for s in token.scopes)
