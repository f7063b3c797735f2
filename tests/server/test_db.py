"""Migrations are the only source of tables, and they match the entities."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from azaion_server.db import downgrade, make_engine, make_sessionmaker, migrate
from azaion_server.entities import metadata
from azaion_server.jwt.entities import RevokedToken
from sqlalchemy import inspect, select

PACKAGE = Path(__file__).resolve().parents[2] / "server" / "src" / "azaion_server"


def test_migrations_match_the_entities(db_engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert compare_metadata(context, metadata) == []


def test_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert {
        "users",
        "licenses",
        "resources",
        "resource_blobs",
        "revoked_tokens",
        "clients",
        "events",
    } <= tables
    downgrade(engine)
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    migrate(engine)
    migrate(engine)  # idempotent at head
    engine.dispose()


def test_in_memory_sqlite_works_across_sessions() -> None:
    engine = make_engine("sqlite://")
    migrate(engine)
    assert "users" in inspect(engine).get_table_names()
    engine.dispose()


def test_timestamps_come_back_aware_utc(clean_db) -> None:
    sessions = make_sessionmaker(clean_db)
    naive = dt.datetime(2030, 1, 2, 3, 4, 5)
    plus_two = dt.datetime(2030, 1, 2, 5, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with sessions() as session:
        session.add_all(
            [RevokedToken(jti="naive", expires_at=naive), RevokedToken(jti="tz", expires_at=plus_two)]
        )
        session.commit()
    with sessions() as session:
        rows = {r.jti: r.expires_at for r in session.scalars(select(RevokedToken))}
    expected = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert rows == {"naive": expected, "tz": expected}


def test_no_create_all_anywhere() -> None:
    here = Path(__file__).resolve().parent
    for path in [*PACKAGE.rglob("*.py"), *here.rglob("*.py")]:
        if path == Path(__file__).resolve():
            continue
        assert ".create_all(" not in path.read_text(), path


def test_migrations_ship_in_the_package() -> None:
    assert (PACKAGE / "migrations" / "script.py.mako").is_file()
    assert list((PACKAGE / "migrations" / "versions").glob("0001_*.py"))
    assert list((PACKAGE / "migrations" / "versions").glob("0002_*.py"))


def test_upgrading_a_database_with_data_keeps_it(tmp_path: Path) -> None:
    """0002 rebuilds `resources` on SQLite: the blobs that refer to it must survive."""
    from sqlalchemy import text

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate(engine, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (email, password_hash, role, created_at) "
                "VALUES ('a@b.c', 'x', 'Admin', '2026-01-01 00:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO resources (folder, name, size, checksum, published, alive, uploaded, "
                "modified, owner_id) VALUES ('models', 'm.bin', 1, 'c', 1, 1, "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00', 1)"
            )
        )
        connection.execute(text("INSERT INTO resource_blobs (resource_id, data) VALUES (1, x'00')"))
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM resource_blobs")).scalar() == 1
        assert connection.execute(text("SELECT owner_id, owner_client_id FROM resources")).one() == (1, None)
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        schema = connection.execute(text("SELECT sql FROM sqlite_master WHERE name = 'resources'")).scalar()
    assert "AUTOINCREMENT" in schema
    engine.dispose()
