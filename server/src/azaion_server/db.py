"""Database plumbing: the declarative base, engines, sessions and Alembic migrations.

Tables exist only through migrations (`migrate()` runs `alembic upgrade head` through the API at
start-up); nothing here or elsewhere calls `metadata.create_all`.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.pool import QueuePool, StaticPool
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so that migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The declarative base of every table; the entities modules subclass it."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        value = value.astimezone(dt.timezone.utc)
        # SQLite stores text: keep it naive UTC so comparisons in SQL order correctly.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def utcnow() -> dt.datetime:
    """Now, timezone-aware, in UTC."""
    return dt.datetime.now(dt.timezone.utc)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer; the busy timeout makes writers queue instead of
    # failing; foreign keys are off by default in SQLite and the schema relies on cascades.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str, *, pool_size: int = 16, max_overflow: int = 16) -> Engine:
    """An engine for `url`: SQLite (file or memory) or PostgreSQL through psycopg 3.

    `pool_size` connections stay open for reuse, up to `max_overflow` more are opened under load
    and closed after use: a pool at least as large as the requests that run at once means no
    request opens a connection (and, on SQLite, runs the pragmas again).
    """
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        if in_memory:
            # One shared connection keeps an in-memory database alive across threads.
            engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
        else:
            engine = create_engine(
                url,
                connect_args={"check_same_thread": False},
                poolclass=QueuePool,
                pool_size=pool_size,
                max_overflow=max_overflow,
            )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow)


def make_sessionmaker(engine: Engine) -> sessionmaker[Any]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration pointing at the migrations shipped inside the package."""
    config = Config()
    location = resources.files("azaion_server") / "migrations"
    config.set_main_option("script_location", str(location))
    # For the `alembic` command line only (env.py uses the engine); `%` is ConfigParser syntax.
    url = engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """`alembic upgrade <revision>` on `engine`, the only way tables come to exist."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """`alembic downgrade <revision>` on `engine` (tests and operators use it)."""
    command.downgrade(alembic_config(engine), revision)
