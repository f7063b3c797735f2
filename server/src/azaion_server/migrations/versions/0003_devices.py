"""Devices (their public keys and states), used DPoP proofs, `max_devices` on licences.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("jkt", sa.String(length=64), nullable=False),
        sa.Column("signing_key", sa.JSON(), nullable=False),
        sa.Column("sealing_key", sa.JSON(), nullable=False),
        sa.Column("hardware_hash", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_devices_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_devices_client_id_clients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("jkt", name=op.f("uq_devices_jkt")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_devices_user_id"), "devices", ["user_id"])
    op.create_index(op.f("ix_devices_client_id"), "devices", ["client_id"])
    op.create_table(
        "used_proofs",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_used_proofs")),
    )
    op.create_index(op.f("ix_used_proofs_expires_at"), "used_proofs", ["expires_at"])
    for table in ("licenses", "client_licenses"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("max_devices", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    for table in ("licenses", "client_licenses"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("max_devices")
    op.drop_index(op.f("ix_used_proofs_expires_at"), table_name="used_proofs")
    op.drop_table("used_proofs")
    op.drop_index(op.f("ix_devices_client_id"), table_name="devices")
    op.drop_index(op.f("ix_devices_user_id"), table_name="devices")
    op.drop_table("devices")
