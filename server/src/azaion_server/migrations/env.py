"""Alembic environment: runs migrations on the engine `azaion_server.db.migrate` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from azaion_server.entities import metadata

config = context.config
# `azaion_server.db.migrate` hands over its engine; the `alembic` command line only has the URL.
engine = config.attributes.get("engine") or create_engine(str(config.get_main_option("sqlalchemy.url")))

# Several instances may start at once against one PostgreSQL: an advisory lock makes them
# migrate one after the other instead of racing on the same DDL.
_MIGRATION_LOCK = 0x617A61696F6E  # "azaion"

with engine.connect() as connection:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
        connection.commit()
    elif connection.dialect.name == "sqlite":
        # A migration that rebuilds a table drops the old one; with foreign keys on, that
        # would cascade into the tables that refer to it. Outside a transaction, or it is ignored.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
            connection.commit()
        elif connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
