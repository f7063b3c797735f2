"""Fixtures of the server suite: a migrated database (PostgreSQL or SQLite), apps and clients.

AZAION_TEST_DATABASE_URL names a PostgreSQL database (build_tools/with_postgres.sh sets it);
without it the suite runs on a SQLite file in a temporary directory. The schema is made once
per session by the Alembic migrations, never by `create_all`; every test starts from empty
tables.

This module imports nothing from azaion_server at import time: coverage starts in
`pytest_configure` below, and a module imported before would count as not run.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

SERVER_PYPROJECT = Path(__file__).resolve().parents[2] / "server" / "pyproject.toml"
TEST_DATABASE_URL = os.environ.get("AZAION_TEST_DATABASE_URL")


def pytest_configure(config: pytest.Config) -> None:
    """Measure azaion_server when no --cov was given (the settings are in server/pyproject.toml)."""
    # Starlette asks for httpx2 in its TestClient; httpx works and is what the client side uses.
    config.addinivalue_line("filterwarnings", "ignore:Using `httpx` with `starlette.testclient`")
    manager = config.pluginmanager
    if manager.hasplugin("_cov") or not manager.hasplugin("pytest_cov") or config.option.no_cov:
        return
    import importlib.util

    from pytest_cov.plugin import CovPlugin

    # The package's directory rather than its name: Alembic loads the migration scripts under
    # names of its own, which a package filter would not count.
    spec = importlib.util.find_spec("azaion_server")
    assert spec is not None and spec.submodule_search_locations
    config.option.cov_source = [spec.submodule_search_locations[0]]
    config.option.cov_config = str(SERVER_PYPROJECT)
    config.option.cov_report = {"term-missing": None}
    manager.register(CovPlugin(config.option, manager, start=True), "_cov")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AZAION_* variable of the caller's shell leaks into a test's settings."""
    for name in list(os.environ):
        if name.startswith("AZAION_") and name != "AZAION_TEST_DATABASE_URL":
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test database, freshly migrated: PostgreSQL when configured, else a SQLite file."""
    from azaion_server.db import make_engine, migrate
    from sqlalchemy import text

    url = TEST_DATABASE_URL or f"sqlite:///{tmp_path_factory.mktemp('db') / 'azaion.db'}"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:  # leftovers of an earlier run on the same cluster
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    migrate(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Any]:
    """An engine on the test database, for tests that look at tables directly."""
    from azaion_server.db import make_engine

    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_db(db_engine: Any) -> Any:
    """Empty every table before the test (the schema stays)."""
    from azaion_server.entities import metadata
    from sqlalchemy import delete

    with db_engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(delete(table))
    return db_engine


# Cheap argon2 parameters: the suite hashes hundreds of passwords.
FAST_SETTINGS: dict[str, Any] = {
    "jwt_secret": "test-secret-" + "x" * 40,
    "client_key_secret": "test-client-key-secret-" + "y" * 40,
    "argon2_time_cost": 1,
    "argon2_memory_kib": 8,
    "argon2_parallelism": 1,
    "admin_email": "Admin@Example.com",
    "admin_password": "admin-password",
    "login_max_attempts": 5,
    "login_max_attempts_per_address": 1000,
    "login_window_seconds": 60,
    # The suite written for the seed's envelope runs with it on; tests/server/devices and
    # tests/adversarial turn it off (the default) to test the device path.
    "legacy_envelope": True,
}


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> Callable[..., Any]:
    """Settings for one test: the test database, cheap hashing; keywords override."""
    from azaion_server.settings import Settings

    def make(**overrides: Any) -> Settings:
        values = {
            **FAST_SETTINGS,
            "database_url": database_url,
            "data_dir": tmp_path / "data",
            "storage_dir": tmp_path / "storage",
            **overrides,
        }
        return Settings.load(**values)

    return make


@pytest.fixture
def make_client(make_settings: Callable[..., Any], clean_db: Any) -> Iterator[Callable[..., Any]]:
    """Start apps (lifespan included) on demand; all are stopped after the test."""
    from azaion_server.app import create_app
    from fastapi.testclient import TestClient

    clients: list[TestClient] = []

    def make(raise_server_exceptions: bool = True, **overrides: Any) -> TestClient:
        app = create_app(make_settings(**overrides))
        client = TestClient(app, raise_server_exceptions=raise_server_exceptions)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., Any]) -> Any:
    """A client of an app with the default test settings."""
    return make_client()


@pytest.fixture
def api(client: Any) -> Any:
    """The `Api` helper on `client`, logged in as the bootstrap ApiAdmin."""
    from tests.server.helpers import Api

    return Api(client)


@pytest.fixture
def no_secrets_logged(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[..., None]]:
    """Capture every log line; call the fixture with secrets that must not appear in them."""
    caplog.set_level(logging.DEBUG)

    def check(*secrets: str) -> None:
        text = caplog.text + "\n".join(str(r.args) for r in caplog.records)
        for secret in secrets:
            assert secret not in text

    yield check
