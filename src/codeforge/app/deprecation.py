"""A deprecated blueprint's warning, as ``codeforge init`` shows it.

Apart from :mod:`codeforge.app.marketplace` because every ``init`` asks: this
module imports nothing beyond the standard library until a database exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codeforge.settings import Settings


def deprecation_warning(name: str, deprecated: bool, replacement: str | None) -> str | None:
    """The warning to show for using ``name``, when it is deprecated."""
    if not deprecated:
        return None
    instead = f"; use {replacement} instead" if replacement else ""
    return f"blueprint {name} is deprecated{instead}"


def init_warning(settings: Settings, name: str) -> str | None:
    """``codeforge init``'s warning when the configured database marks ``name`` deprecated.

    ``init`` must not import SQLAlchemy for the embedded default (see
    ``codeforge.core.journal``): its SQLite file is read with the standard library,
    read-only; a configured database (which the recorder opens anyway) goes through
    :func:`local_market`.
    """
    from codeforge.settings import DATABASE_FILENAME

    if settings.database_url:
        from codeforge.app.marketplace import Market, local_market

        listing = (local_market(settings) or Market({}, {}, {}, {})).listing(name)
        return deprecation_warning(name, listing.deprecated, listing.replacement)
    path = Path(settings.data_dir) / DATABASE_FILENAME
    if not path.is_file():
        return None
    import contextlib
    import sqlite3

    query = "SELECT deprecated, replacement FROM blueprint_listings WHERE name = ?"
    try:
        uri = f"{path.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as connection:
            row = connection.execute(query, (name,)).fetchone()
    except sqlite3.Error:
        return None  # a database from before the marketplace, or busy: no warning
    if row is None:
        return None
    return deprecation_warning(name, bool(row[0]), row[1])
