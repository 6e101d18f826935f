"""The marketplace: blueprint owners and visibility, groups, featured/deprecated marks, stars.

Every blueprint name already registered gets a public listing owned by whoever
registered its first version, so nothing anyone could see disappears.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _tables() -> None:
    op.create_table(
        "blueprint_listings",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("visibility", sa.String(20), nullable=False),
        sa.Column("featured", sa.Boolean(), nullable=False),
        sa.Column("deprecated", sa.Boolean(), nullable=False),
        sa.Column("replacement", sa.String(200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "visibility IN ('public', 'private')", name=op.f("ck_blueprint_listings_visibility")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_blueprint_listings_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_blueprint_listings")),
    )
    op.create_index(
        op.f("ix_blueprint_listings_owner_id"), "blueprint_listings", ["owner_id"], unique=False
    )
    op.create_table(
        "groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_groups_name")),
    )


def _links() -> None:
    op.create_table(
        "group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_members_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_group_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "user_id", name=op.f("pk_group_members")),
    )
    op.create_index(op.f("ix_group_members_user_id"), "group_members", ["user_id"], unique=False)
    op.create_table(
        "blueprint_groups",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["name"],
            ["blueprint_listings.name"],
            name=op.f("fk_blueprint_groups_name_blueprint_listings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_blueprint_groups_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("name", "group_id", name=op.f("pk_blueprint_groups")),
    )
    op.create_index(
        op.f("ix_blueprint_groups_group_id"), "blueprint_groups", ["group_id"], unique=False
    )
    op.create_table(
        "blueprint_stars",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_blueprint_stars_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "name", name=op.f("pk_blueprint_stars")),
    )
    op.create_index(op.f("ix_blueprint_stars_name"), "blueprint_stars", ["name"], unique=False)


def _backfill() -> None:
    """A public listing for each registered name, owned by its first registrant."""
    op.execute(
        sa.text(
            "INSERT INTO blueprint_listings "
            "(name, owner_id, visibility, featured, deprecated, replacement, updated_at) "
            "SELECT b.name, "
            "(SELECT b2.registered_by FROM blueprints b2 WHERE b2.name = b.name "
            "ORDER BY b2.created_at, b2.id LIMIT 1), "
            "'public', false, false, NULL, MIN(b.created_at) "
            "FROM blueprints b GROUP BY b.name"
        )
    )


def upgrade() -> None:
    _tables()
    _links()
    _backfill()


def downgrade() -> None:
    op.drop_table("blueprint_stars")
    op.drop_table("blueprint_groups")
    op.drop_table("group_members")
    op.drop_table("groups")
    op.drop_table("blueprint_listings")
