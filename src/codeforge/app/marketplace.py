"""The marketplace: who may see a blueprint, the maintainers' marks, stars, and groups.

A blueprint *name* (every version) has a listing: an owner, a visibility
(``public``: every user; ``private``: its owner, admins, and the members of the
groups it is shared with), ``featured``, and ``deprecated`` with a named
replacement. Built-in and plugin blueprints are always public; a name without a
listing is public and unowned.

The catalog (``codeforge.app.catalog``) loads a :class:`Market` with its snapshot
and asks it, for every route that reads or uses a blueprint, whether the caller
may see the name: an invisible blueprint is a NotFoundError, worded like a
missing one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, Protocol

from codeforge.errors import ForbiddenError, NotFoundError, ValidationError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from codeforge.settings import Settings

VISIBILITIES: Final = ("public", "private")
SORTS: Final = ("name", "stars", "uses", "recent")


class Caller(Protocol):
    """Who asks: a user's id and whether they are an admin (the API's ``Principal``)."""

    @property
    def id(self) -> int: ...

    @property
    def is_admin(self) -> bool: ...


@dataclasses.dataclass(frozen=True)
class Listing:
    """How the marketplace shows one blueprint name."""

    owner_id: int | None = None
    owner: str | None = None
    visibility: str = "public"
    groups: frozenset[int] = frozenset()
    group_names: tuple[str, ...] = ()
    featured: bool = False
    deprecated: bool = False
    replacement: str | None = None


PUBLIC: Final = Listing()


@dataclasses.dataclass(frozen=True)
class Market:
    """Every listing, each user's groups, and the star counts, read at one moment."""

    listings: dict[str, Listing]
    memberships: dict[int, frozenset[int]]
    stars: dict[str, int]
    registered_at: dict[str, float]  # newest version's registration, by name

    def listing(self, name: str) -> Listing:
        return self.listings.get(name, PUBLIC)

    def can_see(self, name: str, caller: Caller | None) -> bool:
        """``caller`` (None: the local CLI user, who sees everything) may see ``name``."""
        listing = self.listings.get(name)
        if caller is None or listing is None or listing.visibility == "public":
            return True
        if caller.is_admin or listing.owner_id == caller.id:
            return True
        return bool(listing.groups & self.memberships.get(caller.id, frozenset()))

    def can_manage(self, name: str, caller: Caller) -> bool:
        """``caller`` may change who sees ``name``: its owner or an admin."""
        return caller.is_admin or self.listing(name).owner_id == caller.id


def load_market(session: Session, builtins: frozenset[str]) -> Market:
    """The market as the database holds it; built-in names stay public whatever a row says."""
    from codeforge.db import marketplace as db

    names = db.group_names(session)
    listings = {}
    for row, owner, group_ids in db.all_listings(session):
        public = row.name in builtins
        listings[row.name] = Listing(
            owner_id=row.owner_id,
            owner=owner,
            visibility="public" if public else row.visibility,
            groups=frozenset(group_ids),
            group_names=tuple(sorted(names[g] for g in group_ids if g in names)),
            featured=row.featured,
            deprecated=row.deprecated,
            replacement=row.replacement,
        )
    return Market(
        listings, db.memberships(session), db.star_counts(session), db.newest_registrations(session)
    )


def not_found(name: str) -> NotFoundError:
    """The error for a blueprint the caller may not see: the same as for a missing one."""
    return NotFoundError(f"no blueprint named {name}", where="template")


def check_visibility(visibility: str) -> str:
    if visibility not in VISIBILITIES:
        raise ValidationError(
            f"visibility must be one of {', '.join(VISIBILITIES)}, not {visibility!r}",
            where="visibility",
        )
    return visibility


def check_sort(sort: str) -> str:
    if sort not in SORTS:
        raise ValidationError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}", where="sort")
    return sort


def group_ids(session: Session, names: Sequence[str]) -> list[int]:
    """The ids of the groups ``names``; NotFoundError naming the first unknown one."""
    from codeforge.db.marketplace import get_group

    return [get_group(session, name).id for name in names]


def require_manager(market: Market, name: str, caller: Caller) -> None:
    if not market.can_manage(name, caller):
        raise ForbiddenError(
            f"only the owner of {name} or an admin may change who sees it", where="visibility"
        )


def local_market(settings: Settings) -> Market | None:
    """The marketplace as the configured database holds it, for the CLI (which sees every
    blueprint); None when there is no database yet, or one from before the marketplace.
    Nothing is created or migrated just to read it."""
    from sqlalchemy.exc import SQLAlchemyError

    from codeforge.db.engine import parse_url, session_factory, sqlite_path
    from codeforge.sources import builtin_names

    url = settings.store_url
    path = sqlite_path(parse_url(url))
    if path is not None and not path.is_file():
        return None
    try:
        with session_factory(url)() as session:
            return load_market(session, frozenset(builtin_names()))
    except SQLAlchemyError:
        return None
