"""The values of the CI secrets a blueprint declares (``publish.secrets``), for ``publish``.

Every value is found before the publish sends anything: an answer missing or a
credential missing is an error that names the secret and where its value should
have come from, never the value. Secret answers are never saved in the answers
file, so ``codeforge init --publish`` hands them over in memory, and a later
``codeforge publish`` takes them from ``CODEFORGE_PUBLISH_SECRET_<NAME>`` or
asks for them without echo (the ``ask`` callable the adapter gives).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from codeforge.core.answers import Evaluator
from codeforge.core.answersfile import ANSWERS_FILE, read_answers_file
from codeforge.core.blueprints import load_blueprint
from codeforge.core.engine import SDLCEngine
from codeforge.errors import (
    CodeForgeError,
    CredentialError,
    SecurityError,
    UsageError,
    ValidationError,
)
from codeforge.templates.publish import SecretSource
from codeforge.templates.schema import Blueprint

ENV_PREFIX: Final = "CODEFORGE_PUBLISH_SECRET_"
# What GitLab can mask: one line of 8 or more characters of the Base64 alphabet and
# `@ : . ~ _ -` (docs.gitlab.com/ci/variables/#mask-a-cicd-variable). Checked before
# anything is created: GitLab refuses the variable otherwise (400 `value is invalid`).
_MASKABLE: Final = re.compile(r"[A-Za-z0-9+/=@:.~_-]{8,}")

# (provider, host or '', credential name or None) -> the token; CredentialError when none.
CredentialLookup = Callable[[str, str, str | None], str]
# The value of an answer-sourced secret the answers do not hold (None: no value).
Ask = Callable[[SecretSource], str | None]


def env_name(secret: SecretSource) -> str:
    """The environment variable a later ``codeforge publish`` reads the value from."""
    return ENV_PREFIX + secret.name.upper()


def env_asker(env: Mapping[str, str], prompt: Ask | None = None) -> Ask:
    """Values from ``CODEFORGE_PUBLISH_SECRET_<NAME>``, else from ``prompt`` (a terminal)."""

    def ask(secret: SecretSource) -> str | None:
        value = env.get(env_name(secret), "")
        if value:
            return value
        return prompt(secret) if prompt is not None else None

    return ask


def resolve_secrets(
    blueprint: Blueprint,
    evaluator: Evaluator,
    answers: Mapping[str, Any],
    target: tuple[str, str],
    lookup: CredentialLookup,
    ask: Ask | None = None,
    *,
    trusted: bool,
) -> dict[str, str]:
    """``{name: value}`` of the secrets ``blueprint`` declares for a publish to ``target``
    (provider, host); ``answers`` hold the secret answers when they are known.

    A secret whose value is one of the user's stored credentials is refused unless the
    blueprint is ``trusted``: the blueprint's own CI code runs where that secret is
    readable, so copying a token there is running the blueprint's code with it.
    """
    spec = blueprint.publish
    values: dict[str, str] = {}
    for index, secret in enumerate(spec.secrets if spec is not None else ()):
        origin = f"publish.secrets.{index}"
        if secret.when is not None and not evaluator.truth(secret.when, answers, f"{origin}.when"):
            continue
        if secret.credential and not trusted:
            raise _untrusted(blueprint, secret, origin)
        value = (
            _answer(secret, answers, ask) if secret.answer else _credential(secret, target, lookup)
        )
        if value:
            if target[0] == "gitlab" and not _MASKABLE.fullmatch(value):
                raise ValidationError(
                    f"GitLab cannot mask the value of the CI secret {secret.name} "
                    f"({secret.origin}); nothing was published",
                    where=origin,
                    hint="a masked value is one line of at least 8 characters: letters, "
                    "digits and + / = @ : . ~ _ -",
                )
            values[secret.name] = value
        elif secret.required:
            raise _missing(blueprint, secret, origin)
    return values


def _untrusted(blueprint: Blueprint, secret: SecretSource, origin: str) -> SecurityError:
    return SecurityError(
        f"the blueprint {blueprint.name} asks to store {secret.origin} as the CI secret "
        f"{secret.name}, where its CI code can read it; refused for an untrusted blueprint "
        "(nothing was published)",
        where=origin,
        hint="pass --trust if you trust the blueprint's source, or add it to trusted_sources",
    )


def _answer(secret: SecretSource, answers: Mapping[str, Any], ask: Ask | None) -> str:
    value = answers.get(secret.answer)
    text = "" if value is None else str(value)
    if not text and ask is not None:
        text = ask(secret) or ""
    return text


def _credential(secret: SecretSource, target: tuple[str, str], lookup: CredentialLookup) -> str:
    provider, host = target
    wanted = secret.host or (host if secret.credential == provider else "")
    try:
        return lookup(secret.credential, wanted, secret.credential_name or None)
    except CredentialError as exc:
        if secret.required:
            raise CredentialError(
                f"the CI secret {secret.name} needs {secret.origin}: {exc.message}",
                where=exc.where,
                hint=exc.hint,
            ) from None
        return ""


def _missing(blueprint: Blueprint, secret: SecretSource, origin: str) -> CodeForgeError:
    return UsageError(
        f"no value for the CI secret {secret.name} ({secret.origin}) that "
        f"{blueprint.name} {blueprint.version} declares; nothing was published",
        where=origin,
        hint=f"answer {secret.answer} with `codeforge init ... --publish`, or set "
        f"{env_name(secret)} for `codeforge publish`",
    )


def project_secrets(
    engine: SDLCEngine,
    project: Path,
    target: tuple[str, str],
    lookup: CredentialLookup,
    ask: Ask | None,
    *,
    trust: bool = False,
) -> dict[str, str]:
    """The secrets the blueprint of the project at ``project`` declares (its answers file
    names the blueprint); none for a project without an answers file. ``trust`` is
    ``--trust`` (the source may also be trusted by ``trusted_sources`` or as a built-in)."""
    if not (project / ANSWERS_FILE).is_file():
        return {}
    af = read_answers_file(project)
    loaded = load_blueprint(
        engine.parts, af.source, trust=trust, vcs_ref=af.commit or af.ref, dialect=af.dialect
    )
    blueprint = loaded.blueprint
    if blueprint.publish is None or not blueprint.publish.secrets:
        return {}
    context = {**af.answers, "project_name": project.resolve().name}
    evaluator = Evaluator(engine.environment(blueprint.template_root))
    return resolve_secrets(
        blueprint, evaluator, context, target, lookup, ask, trusted=loaded.source.trusted
    )


def created_secrets(
    engine: SDLCEngine,
    blueprint: Blueprint,
    answers: Mapping[str, Any],
    target: tuple[str, str],
    lookup: CredentialLookup,
    *,
    source: str,
    trust: bool,
) -> dict[str, str]:
    """The secrets of a project ``init`` just made, from its answers (secret ones included).

    ``source`` is where ``init`` found the blueprint and ``trust`` its ``--trust``.
    """
    from codeforge.sources import is_trusted

    trusted = (
        trust
        or source.startswith(("builtin:", "plugin:"))
        or is_trusted(source, engine.parts.settings.trusted_sources)
    )
    evaluator = Evaluator(engine.environment(blueprint.template_root))
    return resolve_secrets(blueprint, evaluator, answers, target, lookup, trusted=trusted)
