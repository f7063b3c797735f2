"""Settings: environment, defaults, and the refusal of weak JWT secrets outside dev mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from azaion_server.jwt.settings import JwtSettings
from azaion_server.settings import Settings
from pydantic import ValidationError

STRONG = "s" * 40
KEYS = "k" * 40


@pytest.mark.parametrize("secret", [None, "", "changethis", "secret", "short-but-random"])
def test_weak_or_missing_secret_is_refused(monkeypatch: pytest.MonkeyPatch, secret: str | None) -> None:
    if secret is not None:
        monkeypatch.setenv("AZAION_JWT_SECRET", secret)
    with pytest.raises(ValidationError, match="AZAION_JWT_SECRET"):
        JwtSettings()


def test_dev_mode_generates_a_secret() -> None:
    first, second = JwtSettings(dev=True), JwtSettings(dev=True)
    assert first.jwt_secret is not None and second.jwt_secret is not None
    assert len(first.jwt_secret.get_secret_value()) >= 32
    assert first.jwt_secret.get_secret_value() != second.jwt_secret.get_secret_value()
    assert first.jwt_secret.get_secret_value() not in repr(first)


def test_dev_mode_keeps_a_strong_secret() -> None:
    assert JwtSettings(dev=True, jwt_secret=STRONG).jwt_secret.get_secret_value() == STRONG


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AZAION_JWT_SECRET", STRONG)
    monkeypatch.setenv("AZAION_CLIENT_KEY_SECRET", KEYS)
    monkeypatch.setenv("AZAION_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("AZAION_STORAGE", "files")
    monkeypatch.setenv("AZAION_STORAGE_DIR", str(tmp_path))
    monkeypatch.setenv("AZAION_MAX_UPLOAD_BYTES", "1234")
    monkeypatch.setenv("AZAION_S3_ENDPOINT", "http://127.0.0.1:9000")
    monkeypatch.setenv("AZAION_ADMIN_EMAIL", "root@example.com")
    monkeypatch.setenv("AZAION_LOGIN_MAX_ATTEMPTS", "7")
    settings = Settings.load()
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.resources.storage == "files"
    assert settings.storage_dir == tmp_path
    assert settings.resources.max_upload_bytes == 1234
    assert settings.resources.s3_endpoint == "http://127.0.0.1:9000"
    assert settings.resources.s3_bucket == "azaion"
    assert settings.users.admin_email == "root@example.com"
    assert settings.auth.login_max_attempts == 7


def test_defaults_live_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings.load(jwt_secret=STRONG, client_key_secret=KEYS, data_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'azaion.db'}"
    assert settings.storage_dir == tmp_path / "storage"
    assert settings.auth.argon2_memory_kib == 65536  # RFC 9106 low-memory profile
    assert Settings.load(jwt_secret=STRONG, client_key_secret=KEYS).data_dir.name == "azaion-server"


def test_unknown_override_is_an_error() -> None:
    with pytest.raises(TypeError, match="no_such_setting"):
        Settings.load(jwt_secret=STRONG, client_key_secret=KEYS, no_such_setting=1)


def test_bad_values_are_refused() -> None:
    with pytest.raises(ValidationError):
        Settings.load(jwt_secret=STRONG, client_key_secret=KEYS, storage="s3")
    with pytest.raises(ValidationError):
        Settings.load(jwt_secret=STRONG, client_key_secret=KEYS, s3_bucket="ab")


def test_argon2_memory_must_cover_its_lanes() -> None:
    with pytest.raises(ValidationError, match="ARGON2_MEMORY"):
        Settings.load(jwt_secret=STRONG, client_key_secret=KEYS, argon2_memory_kib=8, argon2_parallelism=4)


@pytest.mark.parametrize("secret", [None, "", "changeme", "short-but-random"])
def test_weak_or_missing_client_key_secret_is_refused(
    monkeypatch: pytest.MonkeyPatch, secret: str | None
) -> None:
    if secret is not None:
        monkeypatch.setenv("AZAION_CLIENT_KEY_SECRET", secret)
    with pytest.raises(ValidationError, match="AZAION_CLIENT_KEY_SECRET"):
        Settings.load(jwt_secret=STRONG)


def test_the_client_key_secret_must_differ_from_the_jwt_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="differ"):
        Settings.load(jwt_secret=STRONG, client_key_secret=STRONG)
    monkeypatch.setenv("AZAION_JWT_SECRET", KEYS)
    monkeypatch.setenv("AZAION_CLIENT_KEY_SECRET", KEYS)
    with pytest.raises(ValidationError, match="differ"):
        Settings.load()


def test_dev_mode_generates_a_client_key_secret() -> None:
    from azaion_server.clients.settings import ClientSettings

    first, second = ClientSettings(dev=True), ClientSettings(dev=True)
    assert first.client_key_secret is not None and second.client_key_secret is not None
    assert first.client_key_secret.get_secret_value() != second.client_key_secret.get_secret_value()
    assert first.client_key_secret.get_secret_value() not in repr(first)


def test_event_and_client_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZAION_SSE_PING_SECONDS", "2.5")
    monkeypatch.setenv("AZAION_SSE_MAX_STREAMS_PER_USER", "9")
    monkeypatch.setenv("AZAION_CHALLENGE_SECONDS", "30")
    monkeypatch.setenv("AZAION_CLIENT_SESSION_MAX_SECONDS", "600")
    settings = Settings.load(jwt_secret=STRONG, client_key_secret=KEYS)
    assert (settings.events.sse_ping_seconds, settings.events.sse_max_streams_per_user) == (2.5, 9)
    assert settings.events.events_retention_seconds == 7 * 24 * 3600
    assert (settings.clients.challenge_seconds, settings.clients.client_session_max_seconds) == (30, 600)
    with pytest.raises(ValidationError):
        Settings.load(jwt_secret=STRONG, client_key_secret=KEYS, sse_ping_seconds=0)
    with pytest.raises(ValidationError):
        Settings.load(jwt_secret=STRONG, client_key_secret=KEYS, challenge_seconds=1)


def test_lease_max_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.load(jwt_secret=STRONG, client_key_secret=KEYS).jwt.lease_max_hours == 720
    monkeypatch.setenv("AZAION_LEASE_MAX_HOURS", "24")
    assert Settings.load(jwt_secret=STRONG, client_key_secret=KEYS).jwt.lease_max_hours == 24
    for bad in (0, 366 * 24 + 1):
        with pytest.raises(ValidationError):
            Settings.load(jwt_secret=STRONG, client_key_secret=KEYS, lease_max_hours=bad)
    assert Settings.load(
        jwt_secret=STRONG, client_key_secret=KEYS, lease_max_hours=366 * 24
    ).jwt.lease_max_hours
