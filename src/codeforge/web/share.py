"""The blueprint page's "same thing elsewhere" box: the equivalent ``codeforge init`` command and
the ``starter.zip`` URL for the answers the form holds.

Both are rendered on the server from the form's fields (so they are right without
JavaScript, after a check or a preview too); ``static/share.js`` rebuilds them the same
way as the user types. Secret answers never enter either: the command leaves them for
``init`` to ask, the URL for the blueprint's default.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from urllib.parse import urlencode

from codeforge.app.form import Field, FormState
from codeforge.app.registry import GIT_PREFIX

STARTER_PATH = "/api/v1/starter.zip"


@dataclasses.dataclass(frozen=True)
class Share:
    command: str
    url: str
    template: str  # what ``-t`` names
    vcs_ref: str  # ``--vcs-ref`` (a registered git blueprint's commit), else ""
    asks: bool  # a shown required secret is left for ``init`` to ask (so no ``--defaults``)


def _values(field: Field) -> list[str] | str:
    """What the form holds for ``field``: text, or the chosen values of a (multi)choice."""
    if field.type == "multichoice":
        return list(field.selected)
    if field.type == "choice":
        return field.selected[0] if field.selected else ""
    return field.text


def template_of(name: str, source: str) -> tuple[str, str]:
    """(``-t`` value, ``--vcs-ref`` value) for a blueprint the server knows as ``source``: a git
    registration's URL and commit, else its name (built-ins and plugins are installed by name)."""
    if source.startswith(GIT_PREFIX):
        url, _, commit = source[len(GIT_PREFIX) :].rpartition("@")
        return url, commit
    return name, ""


def share_of(state: FormState, project: str, source: str, base_url: str) -> Share:
    """The command and URL for ``state``'s shown, non-secret fields and ``project``."""
    bp = state.blueprint
    template, vcs_ref = template_of(bp.name, source)
    shown = [f for f in state.fields if f.shown]
    # A required secret with no default: --defaults would stop on it, so init asks instead.
    asks = any(f.type == "secret" and f.required for f in shown)
    answers = [(f.name, _values(f)) for f in shown if f.type != "secret"]
    words = ["codeforge", "init", project or "NAME", "-t", template]
    if vcs_ref:
        words += ["--vcs-ref", vcs_ref]
    if not asks:
        words.append("--defaults")
    for name, value in answers:
        text = json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value
        words += ["--data", f"{name}={text}"]
    query: list[tuple[str, str]] = [
        ("template", bp.name),
        ("name", project),
        ("version", bp.version),
    ]
    for name, value in answers:
        if isinstance(value, list):
            query += [(name, item) for item in value] or [(name, "")]
        else:
            query.append((name, value))
    url = f"{base_url.rstrip('/')}{STARTER_PATH}?{urlencode(query)}"
    return Share(shlex.join(words), url, template, vcs_ref, asks)
