"""Server-wide settings and the aggregate of every module's settings.

Every value comes from an `AZAION_*` environment variable; `Settings.load(**overrides)` takes
field names to override them (tests, `--dev`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from azaion_server.auth.settings import AuthSettings
from azaion_server.clients.settings import ClientSettings
from azaion_server.devices.settings import DeviceSettings
from azaion_server.events.settings import EventSettings
from azaion_server.jwt.settings import JwtSettings
from azaion_server.licenses.settings import LicenseSettings
from azaion_server.resources.settings import ResourceSettings
from azaion_server.users.settings import UsersSettings


class ServerSettings(BaseSettings):
    """Database, data directory, logging, metrics and connection limits (`connection_limits.py`)."""

    model_config = SettingsConfigDict(env_prefix="AZAION_", extra="ignore")

    dev: bool = False
    database_url: str | None = None
    data_dir: Path | None = None
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    # `GET /metrics` (Prometheus text format) answers only when this is on.
    metrics: bool = False
    # Database connections per process: kept open (`pool_size`) and beyond it, closed after use
    # (`max_overflow`). The event listener holds one more on PostgreSQL.
    db_pool_size: int = Field(default=16, ge=1, le=1000)
    db_max_overflow: int = Field(default=16, ge=0, le=1000)
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    body_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    keep_alive_seconds: int = Field(default=5, ge=1, le=300)
    max_connections: int = Field(default=1000, ge=1)
    max_header_bytes: int = Field(default=64 * 1024, ge=1024)


@dataclass(frozen=True)
class Settings:
    """All settings of one server, one part per module."""

    server: ServerSettings
    jwt: JwtSettings
    auth: AuthSettings
    users: UsersSettings
    resources: ResourceSettings
    licenses: LicenseSettings
    clients: ClientSettings
    events: EventSettings
    devices: DeviceSettings

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Read the environment; keyword arguments (field names) override it."""
        parts: dict[str, BaseSettings] = {}
        known: set[str] = set()
        for name, model in _PARTS.items():
            names = set(model.model_fields)
            known |= names
            parts[name] = model(**{k: v for k, v in overrides.items() if k in names})
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        return cls(**parts)  # type: ignore[arg-type]

    @property
    def data_dir(self) -> Path:
        """Where the embedded database and file store live unless told otherwise."""
        return self.server.data_dir or Path(platformdirs.user_data_dir("azaion-server"))

    @property
    def database_url(self) -> str:
        """AZAION_DATABASE_URL, or a SQLite file in the data directory."""
        return self.server.database_url or f"sqlite:///{self.data_dir / 'azaion.db'}"

    @property
    def storage_dir(self) -> Path:
        """AZAION_STORAGE_DIR, or `storage/` in the data directory."""
        return self.resources.storage_dir or self.data_dir / "storage"


_PARTS: dict[str, type[BaseSettings]] = {
    "server": ServerSettings,
    "jwt": JwtSettings,
    "auth": AuthSettings,
    "users": UsersSettings,
    "resources": ResourceSettings,
    "licenses": LicenseSettings,
    "clients": ClientSettings,
    "events": EventSettings,
    "devices": DeviceSettings,
}
