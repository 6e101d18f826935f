"""Migration 0008 (the marketplace) on both backends: registered names get a public
listing owned by their first registrant, and the migration goes down and up again."""

from __future__ import annotations

from sqlalchemy import select, text

from codeforge.db import migrate
from codeforge.db.engine import engine_for, session_factory
from codeforge.db.models import BlueprintListing


def _seed(db_url: str) -> None:
    with engine_for(db_url).begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, name, role, created_at, disabled, session_epoch) VALUES "
                "(1, 'ann', 'maintainer', '2026-01-01', false, 0), "
                "(2, 'bob', 'maintainer', '2026-01-01', false, 0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO blueprints (name, version, source, description, registered_by, "
                "created_at) VALUES "
                "('svc', '1.0.0', 'archive:sha256:a', '', 2, '2026-02-01'), "
                "('svc', '0.9.0', 'archive:sha256:b', '', 1, '2026-01-15'), "
                "('lib', '1.0.0', 'archive:sha256:c', '', NULL, '2026-03-01')"
            )
        )


def test_registered_names_become_public_listings_of_their_first_registrant(db_url: str) -> None:
    assert migrate.upgrade(db_url, "0007") == "0007"
    _seed(db_url)

    assert migrate.upgrade(db_url) == "0008"

    with session_factory(db_url).begin() as session:
        rows = {r.name: r for r in session.scalars(select(BlueprintListing))}
        assert sorted(rows) == ["lib", "svc"]
        assert rows["svc"].owner_id == 1  # registered 0.9.0 first
        assert rows["lib"].owner_id is None
        assert {r.visibility for r in rows.values()} == {"public"}
        assert not any(r.featured or r.deprecated for r in rows.values())


def test_the_migration_goes_down_and_up_again(db_url: str) -> None:
    from alembic import command

    assert migrate.upgrade(db_url) == "0008"
    command.downgrade(migrate.alembic_config(db_url), "0007")
    assert migrate.current_revision(db_url) == "0007"
    command.upgrade(migrate.alembic_config(db_url), "head")
    assert migrate.current_revision(db_url) == "0008"
