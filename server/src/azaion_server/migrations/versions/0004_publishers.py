"""Publisher keys, folder policies, and the release of each resource version (issue 15).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "publishers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("folders", sa.JSON(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publishers")),
        sa.UniqueConstraint("name", name=op.f("uq_publishers_name")),
        sa.UniqueConstraint("key_id", name=op.f("uq_publishers_key_id")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "folder_policies",
        sa.Column("folder", sa.String(length=255), nullable=False),
        sa.Column("signatures_required", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("folder", name=op.f("pk_folder_policies")),
    )
    with op.batch_alter_table("resources", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.add_column(sa.Column("version_number", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("statement", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resources", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("statement")
        batch.drop_column("version_number")
    op.drop_table("folder_policies")
    op.drop_table("publishers")
