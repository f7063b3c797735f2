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
    assert {"users", "licenses", "resources", "resource_blobs", "revoked_tokens"} <= tables
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
