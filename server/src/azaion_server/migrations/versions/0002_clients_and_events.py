"""Machine clients, their licences and challenges; change events and stream leases.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "clients",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("sealed_key", sa.LargeBinary(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("hardware_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
        sa.UniqueConstraint("name", name=op.f("uq_clients_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "client_licenses",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("folders", sa.JSON(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_client_licenses_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client_licenses")),
    )
    op.create_table(
        "auth_challenges",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=128), nullable=False),
        sa.Column("iv", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_auth_challenges_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_challenges")),
    )
    op.create_index(op.f("ix_auth_challenges_client_id"), "auth_challenges", ["client_id"])
    op.create_index(op.f("ix_auth_challenges_expires_at"), "auth_challenges", ["expires_at"])
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=True),
        sa.Column("folder", sa.String(length=255), nullable=True),
        sa.Column("owner", sa.String(length=80), nullable=True),
        sa.Column("published", sa.Boolean(), nullable=True),
        sa.Column("alive", sa.Boolean(), nullable=True),
        sa.Column("was_published", sa.Boolean(), nullable=True),
        sa.Column("was_alive", sa.Boolean(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_events_at"), "events", ["at"])
    op.create_table(
        "event_streams",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_streams")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_event_streams_subject"), "event_streams", ["subject"])
    op.create_index(op.f("ix_event_streams_expires_at"), "event_streams", ["expires_at"])
    # SQLite rebuilds the table (env.py turns foreign keys off meanwhile, so that dropping the
    # old table cascades into nothing); AUTOINCREMENT must be asked for again.
    with op.batch_alter_table("resources", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("owner_client_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_resources_owner_client_id_clients"),
            "clients",
            ["owner_client_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("resources", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_constraint(op.f("fk_resources_owner_client_id_clients"), type_="foreignkey")
        batch.drop_column("owner_client_id")
    op.drop_index(op.f("ix_event_streams_expires_at"), table_name="event_streams")
    op.drop_index(op.f("ix_event_streams_subject"), table_name="event_streams")
    op.drop_table("event_streams")
    op.drop_index(op.f("ix_events_at"), table_name="events")
    op.drop_table("events")
    op.drop_index(op.f("ix_auth_challenges_expires_at"), table_name="auth_challenges")
    op.drop_index(op.f("ix_auth_challenges_client_id"), table_name="auth_challenges")
    op.drop_table("auth_challenges")
    op.drop_table("client_licenses")
    op.drop_table("clients")
