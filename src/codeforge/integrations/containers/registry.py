"""Container registries as a credential provider: ``codeforge credentials set docker --host H``.

A registry credential is ``USER:PASSWORD`` (or ``USER:TOKEN``), kept like a forge's
token: sealed in the credential store under (``docker``, HOST[:PORT], name), or
given in CI as ``CODEFORGE_DOCKER_AUTH``. ``docker.build`` hands it to the engine as
the push's ``auth_config`` (the ``X-Registry-Auth`` header): never in an argument, a
message or a record.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

from codeforge.errors import CredentialError, UsageError

if TYPE_CHECKING:  # a push needs none of the credential use cases
    from codeforge.core.credentials import Account

PROVIDER: Final = "docker"
AUTH_ENV: Final = "CODEFORGE_DOCKER_AUTH"


def split_auth(secret: str, host: str) -> dict[str, str]:
    """``USER:PASSWORD`` as the SDK's ``auth_config`` for ``host``; UsageError without a user."""
    user, sep, password = secret.partition(":")
    if not sep or not user or not password:
        raise UsageError(
            f"the docker credential for {host} is not USER:PASSWORD",
            hint=f"store it again: codeforge credentials set docker --host {host}",
        )
    return {"username": user, "password": password, "serveraddress": host}


def check_secret(secret: str) -> str:
    """Refuse a registry credential that is not ``USER:PASSWORD`` before it is stored."""
    split_auth(secret, "the registry")
    return secret


@dataclasses.dataclass(frozen=True)
class RegistryProvider:
    """The ``docker`` provider of ``codeforge credentials`` (not a forge: nothing to publish)."""

    name: str = PROVIDER
    default_host: str = "docker.io"
    token_env: str = AUTH_ENV

    def whoami(self, host: str, token: str) -> Account:
        """Log in to the registry at ``host`` through the Docker engine; the account."""
        from docker.errors import APIError

        from codeforge.core.credentials import Account
        from codeforge.integrations.containers.engine import engine

        auth = split_auth(token, host)
        client = engine("credentials test docker", shared=False)  # the login stays in it
        try:
            client.login(auth["username"], auth["password"], registry=host, reauth=True)
        except APIError as exc:
            raise CredentialError(
                f"the registry {host} refused the docker credential: "
                f"{exc.explanation or exc.status_code}"
            ) from None
        finally:
            client.close()
        return Account(PROVIDER, host, auth["username"], None, None, ())
