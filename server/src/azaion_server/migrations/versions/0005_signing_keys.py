"""The server's signing keys, the audit trail, and the licences' `offline_hours`.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_private", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("retired_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
    )
    op.create_index(op.f("ix_signing_keys_retired_at"), "signing_keys", ["retired_at"], unique=False)
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("actor_name", sa.String(length=254), nullable=True),
        sa.Column("device", sa.String(length=64), nullable=True),
        sa.Column("folder", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("version", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sqlite_autoincrement=True,
    )
    for column in ("at", "action", "actor", "device"):
        op.create_index(op.f(f"ix_audit_events_{column}"), "audit_events", [column], unique=False)
    for table in ("licenses", "client_licenses"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("offline_hours", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    for table in ("client_licenses", "licenses"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("offline_hours")
    for column in ("device", "actor", "action", "at"):
        op.drop_index(op.f(f"ix_audit_events_{column}"), table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index(op.f("ix_signing_keys_retired_at"), table_name="signing_keys")
    op.drop_table("signing_keys")
