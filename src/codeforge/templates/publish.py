"""A blueprint's ``publish:`` section: the CI secrets ``codeforge publish`` stores.

Each entry of ``publish.secrets`` names a secret and where its value comes from:
an answer (a ``secret`` variable, so the value is never written to the answers
file) or one of the user's stored forge credentials. ``codeforge publish`` seals
it as a GitHub Actions secret or stores it as a masked, protected GitLab CI/CD
variable (see :mod:`codeforge.app.publish_secrets`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:  # the checker lives with the rest of the definition validation
    from codeforge.templates.definition import KeyPath
    from codeforge.templates.schema import Variable
    from codeforge.templates.validation import _Checker

# GitHub's rules for secret names (GitLab's variable keys are a superset of them):
# letters, digits and underscores, not starting with a digit nor with GITHUB_.
SECRET_NAME_RE: Final = re.compile(r"^(?![Gg][Ii][Tt][Hh][Uu][Bb]_)[A-Za-z_][A-Za-z0-9_]{0,254}$")
PROVIDER_RE: Final = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
CREDENTIAL_NAME_RE: Final = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SECTION_KEYS: Final = ("secrets",)
SECRET_KEYS: Final = ("name", "answer", "credential", "host", "credential_name", "when", "required")


@dataclasses.dataclass(frozen=True, slots=True)
class SecretSource:
    """One CI secret and where its value comes from (exactly one of ``answer``, ``credential``)."""

    name: str
    answer: str = ""  # the `secret` variable whose answer is the value
    credential: str = ""  # the forge (provider) whose stored credential is the value
    host: str = ""  # the credential's host ('': the publish host, or the forge's default)
    credential_name: str = ""  # which stored credential ('': the default, or $GITHUB_TOKEN...)
    when: str | None = None  # Jinja over the answers: false leaves the secret out
    required: bool = True  # false: no value leaves it out instead of failing

    @property
    def origin(self) -> str:
        """Where the value comes from, for messages (never the value)."""
        if self.answer:
            return f"the answer {self.answer!r}"
        name = self.credential_name or "default"
        return f"the {self.credential} credential {name!r}"


@dataclasses.dataclass(frozen=True, slots=True)
class PublishSpec:
    """The ``publish`` section."""

    secrets: tuple[SecretSource, ...] = ()


_SECRET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": SECRET_NAME_RE.pattern},
        "answer": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]{0,99}$"},
        "credential": {"type": "string", "pattern": PROVIDER_RE.pattern},
        "host": {"type": "string", "minLength": 1},
        "credential_name": {"type": "string", "pattern": CREDENTIAL_NAME_RE.pattern},
        "when": {"type": "string"},
        "required": {"type": "boolean"},
    },
    "oneOf": [
        {
            "required": ["answer"],
            "not": {
                "anyOf": [{"required": [k]} for k in ("credential", "host", "credential_name")]
            },
        },
        {"required": ["credential"], "not": {"required": ["answer"]}},
    ],
}
# The JSON Schema (draft 2020-12) of the `publish` section; docs/blueprint-format.md shows it.
PUBLISH_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "CodeForge blueprint publish",
    "type": "object",
    "additionalProperties": False,
    "properties": {"secrets": {"type": "array", "items": {"$ref": "#/$defs/secret"}}},
    "$defs": {"secret": _SECRET_SCHEMA},
}


def parse_publish(
    c: _Checker, value: Any, keys: KeyPath, variables: tuple[Variable, ...]
) -> PublishSpec | None:
    """The ``publish`` section checked strictly; errors name the file, line and key."""
    if value is None:
        return None
    spec = c.mapping(value, keys, SECTION_KEYS)
    skeys = (*keys, "secrets")
    secrets: list[SecretSource] = []
    seen: set[str] = set()
    kinds = {var.name: var.type for var in variables}
    for item, ikeys in c.entries(spec.get("secrets", []), skeys, SECRET_KEYS, ("name",)):
        secret = _secret(c, item, ikeys, kinds)
        if secret.name.upper() in seen:
            raise c.fail((*ikeys, "name"), f"the secret {secret.name!r} is declared twice")
        seen.add(secret.name.upper())
        secrets.append(secret)
    return PublishSpec(tuple(secrets))


def _secret(
    c: _Checker, item: dict[str, Any], keys: KeyPath, kinds: dict[str, str]
) -> SecretSource:
    name = c.str_(item["name"], (*keys, "name"))
    if not SECRET_NAME_RE.match(name):
        raise c.fail(
            (*keys, "name"),
            f"{name!r} is not a valid secret name",
            hint="letters, digits and '_', not starting with a digit nor with GITHUB_",
        )
    if ("answer" in item) == ("credential" in item):
        raise c.fail(keys, "a secret needs exactly one of `answer` or `credential`")
    answer = ""
    if "answer" in item:
        answer = c.str_(item["answer"], (*keys, "answer"))
        extra = [k for k in ("host", "credential_name") if k in item]
        if extra:
            raise c.fail((*keys, extra[0]), "applies to a `credential` secret only")
        if answer not in kinds:
            raise c.fail((*keys, "answer"), f"no variable {answer!r} is declared")
        if kinds[answer] != "secret":
            raise c.fail(
                (*keys, "answer"),
                f"the variable {answer!r} must have type secret",
                hint="an answer of another type is saved in the answers file",
            )
    credential = ""
    if "credential" in item:
        credential = c.str_(
            item["credential"], (*keys, "credential"), pattern=PROVIDER_RE, what="provider name"
        )
    host = c.str_(item["host"], (*keys, "host")) if "host" in item else ""
    if "host" in item and not host.strip():
        raise c.fail((*keys, "host"), "the host is empty")
    cname = ""
    if "credential_name" in item:
        cname = c.str_(
            item["credential_name"],
            (*keys, "credential_name"),
            pattern=CREDENTIAL_NAME_RE,
            what="credential name",
        )
    when = item.get("when")
    return SecretSource(
        name=name,
        answer=answer,
        credential=credential,
        host=host,
        credential_name=cname,
        when=None if when is None else c.str_(when, (*keys, "when")),
        required=c.bool_(item.get("required", True), (*keys, "required")),
    )
