"""End to end: the real server (a child process) on PostgreSQL, the S3 emulator, the compiled client.

`make test` sets AZAION_TEST_DATABASE_URL (build_tools/with_postgres.sh); the suite makes its own
database on that cluster so the server suite's resets never touch it. Without the variable it
falls back to a SQLite file, so a developer can run it alone.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import pytest

import azaion
from build_tools.live_server import LiveServer

FOLDER = "models"


@pytest.fixture(scope="session")
def e2e_database_url(tmp_path_factory) -> Iterator[str]:
    base = os.environ.get("AZAION_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'azaion.db'}"
        return
    import psycopg

    name = f"azaion_e2e_{uuid.uuid4().hex[:8]}"
    admin_url = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield base.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def server_env(e2e_database_url, s3_endpoint, tmp_path_factory) -> dict[str, str]:
    bucket = f"azaion-e2e-{uuid.uuid4().hex[:8]}"
    return {
        "AZAION_DATABASE_URL": e2e_database_url,
        "AZAION_JWT_SECRET": secrets.token_urlsafe(48),
        "AZAION_CLIENT_KEY_SECRET": secrets.token_urlsafe(48),
        "AZAION_STORAGE": "files",
        "AZAION_STORAGE_DIR": str(tmp_path_factory.mktemp("e2e-storage")),
        "AZAION_S3_ENDPOINT": s3_endpoint.url,
        "AZAION_S3_BUCKET": bucket,
        "AZAION_S3_DOWNLOADER_KEY": s3_endpoint.downloader_key,
        "AZAION_S3_DOWNLOADER_SECRET": s3_endpoint.downloader_secret,
        "AZAION_S3_UPLOADER_KEY": s3_endpoint.uploader_key,
        "AZAION_S3_UPLOADER_SECRET": s3_endpoint.uploader_secret,
        # Cheap hashing keeps the suite fast; production keeps the defaults.
        "AZAION_ARGON2_TIME_COST": "1",
        "AZAION_ARGON2_MEMORY_KIB": "1024",
        "AZAION_ARGON2_PARALLELISM": "1",
        "AZAION_LOGIN_MAX_ATTEMPTS": "8",
        "AZAION_MAX_UPLOAD_BYTES": str(1 << 20),
        "AZAION_LOG_LEVEL": "WARNING",
        "AZAION_SSE_PING_SECONDS": "1",
    }


@pytest.fixture(scope="session")
def live(server_env, tmp_path_factory) -> Iterator[LiveServer]:
    """The Resource API, started once for the end-to-end suite."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZAION_")}
    env.update(server_env)
    os_env_backup = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        server = LiveServer(server_env, log_dir=tmp_path_factory.mktemp("e2e-log"))
    finally:
        os.environ.clear()
        os.environ.update(os_env_backup)
    yield server
    server.stop()


@dataclass
class Account:
    id: int
    email: str
    password: str
    role: str


_counter = itertools.count()


@pytest.fixture
def make_account(live) -> Callable[..., Account]:
    """A new user of a role; Operators (and others on request) get a licence for `folders`."""

    def make(
        role: str, *, folders: Optional[list[str]] = None, license_days: Optional[float] = 30
    ) -> Account:
        email = f"{role.lower()}-{next(_counter)}-{uuid.uuid4().hex[:6]}@e2e.local"
        password = secrets.token_urlsafe(12)
        user_id = live.create_user(email, password, role)
        if license_days is not None and (role == "Operator" or folders is not None):
            live.set_license(user_id, folders if folders is not None else [FOLDER], days=license_days)
        return Account(user_id, email, password, role)

    return make


@pytest.fixture(autouse=True)
def client_env(tmp_path, monkeypatch) -> Path:
    for name in list(os.environ):
        if name.startswith("AZAION_") and name != "AZAION_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("AZAION_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("AZAION_DATA_DIR", str(tmp_path / "data"))  # the device key store
    monkeypatch.setenv("AZAION_HARDWARE_FINGERPRINT", f"e2e-device-{uuid.uuid4().hex}")
    monkeypatch.setenv("AZAION_BACKOFF", "0.05")
    monkeypatch.setenv("AZAION_CONFIG", str(tmp_path / "config.ini"))
    return tmp_path


@pytest.fixture
def connect(live, tmp_path, monkeypatch) -> Iterator[Callable[..., azaion.ApiClient]]:
    """Log an account in through the compiled client; `device` (a fingerprint and a key store of
    its own) and `cache` pick the machine."""
    opened: list[azaion.ApiClient] = []

    def open_client(
        account: Account, *, device: Optional[str] = None, cache: Optional[str] = None
    ) -> azaion.ApiClient:
        if device is not None:
            monkeypatch.setenv("AZAION_HARDWARE_FINGERPRINT", device)
        data = tmp_path / (f"data-{hashlib.sha256(device.encode()).hexdigest()[:12]}" if device else "data")
        client = azaion.ApiClient(live.url, cache_dir=str(tmp_path / (cache or "cache")), data_dir=str(data))
        opened.append(client)
        client.set_credentials_from_dict(account.email, account.password)
        return client

    yield open_client
    for client in opened:
        client.close()
