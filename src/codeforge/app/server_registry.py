"""Registry pushes from the server's ``workflow`` job: to which hosts, and with whose login.

``POST /projects/{id}/workflow`` with ``registry`` (HOST[:PORT]/NAMESPACE) has
docker.build push the image it makes there. The server pushes only to the registry
hosts its operator allows (``CODEFORGE_REGISTRY_HOSTS``, comma-separated HOST[:PORT];
default ``docker.io``), compared exactly, port included: a caller, or a blueprint's
own ``registry`` input, cannot make the server's engine send requests to an internal
address. The check is made on the request and again when the push asks for its login.

The login is the job owner's own stored ``docker`` credential for that host (the one
named ``default``, ``PUT /api/v1/credentials/docker``), opened only when the push asks
for it. Never the server's environment (``CODEFORGE_DOCKER_AUTH``) or keyring, never
another user's: without one the push is anonymous, and a registry that wants a login
refuses it (the stage fails saying so).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Final

from codeforge.app import user_credentials
from codeforge.app.context import AppContext
from codeforge.core.credentials import DEFAULT_NAME
from codeforge.core.sdlc_model import CredentialLookup
from codeforge.db.credentials import find_credential
from codeforge.errors import SecurityError, UsageError, ValidationError
from codeforge.integrations.containers.engine import check_registry, registry_host
from codeforge.integrations.containers.registry import PROVIDER

HOSTS_ENV: Final = "CODEFORGE_REGISTRY_HOSTS"
DEFAULT_HOSTS: Final = ("docker.io",)
WHERE: Final = "registry"


def allowed_hosts(env: Mapping[str, str] | None = None) -> frozenset[str]:
    """The registry hosts (HOST[:PORT], lowercase) this server may push to."""
    env = os.environ if env is None else env
    listed = [entry.strip() for entry in env.get(HOSTS_ENV, "").split(",") if entry.strip()]
    hosts = set()
    for entry in listed or DEFAULT_HOSTS:
        value = check_registry(entry, HOSTS_ENV)
        if "/" in value:
            raise UsageError(
                f"{HOSTS_ENV} lists {entry!r}: a registry host is HOST[:PORT], without a path",
                where=HOSTS_ENV,
            )
        hosts.add(registry_host(value))
    return frozenset(hosts)


def check_host(host: str) -> str:
    """``host`` (lowercase) when this server may push to it; SecurityError (422) otherwise."""
    host = host.lower()
    if host not in allowed_hosts():
        raise SecurityError(
            f"this server does not push to the registry {host}",
            where=WHERE,
            hint=f"the server's operator lists the registry hosts allowed in {HOSTS_ENV}",
        )
    return host


def requested(options: Mapping[str, Any]) -> str:
    """The request's ``registry`` as HOST[:PORT]/NAMESPACE, its host allowed ("": none)."""
    raw = options.get(WHERE)
    if not raw:
        return ""
    try:
        value = check_registry(str(raw), WHERE)
    except UsageError as exc:  # the API's 422, named as the API calls it
        raise ValidationError(exc.message, where=WHERE, hint=exc.hint) from None
    check_host(registry_host(value))
    return value


def owner_login(ctx: AppContext, user_id: int) -> CredentialLookup:
    """What the job's actions get as their credentials: the owner's own docker login for an
    allowed host, None (anonymous) when the owner stored none; nothing for other providers."""

    def lookup(provider: str, host: str) -> str | None:
        if provider != PROVIDER:
            return None
        key = (PROVIDER, check_host(host), DEFAULT_NAME)
        with ctx.factory.begin() as session:
            if find_credential(session, user_id, *key) is None:
                return None
            return user_credentials.token(session, ctx, user_id, key)

    return lookup
