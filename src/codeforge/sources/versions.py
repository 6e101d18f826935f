"""Semantic-version tags: which tags are versions, and their order.

A version tag is ``MAJOR.MINOR.PATCH`` with an optional ``v`` prefix, an
optional ``-PRERELEASE`` and an optional ``+BUILD`` (semver.org 2.0.0):
``v1.2.3``, ``1.2.3``, ``2.0.0-rc.1``. Other tags are not versions and are never
chosen by default. Order is semver precedence: numbers numerically, a
prerelease below its release, prerelease identifiers compared field by field
(numeric below alphanumeric), build metadata ignored; ties (``v1.0.0`` and
``1.0.0`` on different commits) are broken by the tag name so the order is total.

The default version of a git source (:func:`pick_default`) is the highest
*release* tag; only when a repository has no release at all is its highest
prerelease taken (as copier does without ``--prereleases``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SEMVER_RE = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)

SortKey = tuple[int, int, int, int, tuple[tuple[int, int, str], ...], str]


def parse_version(tag: str) -> SortKey | None:
    """A sort key for ``tag`` when it is a semver tag, else None."""
    match = _SEMVER_RE.match(tag)
    if match is None:
        return None
    pre = match.group("pre")
    fields: tuple[tuple[int, int, str], ...] = ()
    if pre is not None:
        fields = tuple(
            (0, int(part), "") if part.isdigit() else (1, 0, part) for part in pre.split(".")
        )
    return (
        int(match.group("major")),
        int(match.group("minor")),
        int(match.group("patch")),
        0 if pre is not None else 1,  # a prerelease sorts below its release
        fields,
        tag,
    )


def is_prerelease(tag: str) -> bool:
    match = _SEMVER_RE.match(tag)
    return match is not None and match.group("pre") is not None


def sort_versions(tags: Iterable[str]) -> list[str]:
    """The semver tags among ``tags``, lowest first."""
    keyed = [(key, tag) for tag in tags if (key := parse_version(tag)) is not None]
    return [tag for _, tag in sorted(keyed)]


def pick_default(tags: Iterable[str]) -> str | None:
    """The highest release tag; the highest prerelease when there is no release; else None."""
    ordered = sort_versions(tags)
    releases = [t for t in ordered if not is_prerelease(t)]
    if releases:
        return releases[-1]
    return ordered[-1] if ordered else None
