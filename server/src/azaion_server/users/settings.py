"""The first ApiAdmin, created on first start (AZAION_ADMIN_EMAIL, AZAION_ADMIN_PASSWORD)."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class UsersSettings(BaseSettings):
    """Bootstrap account; `--dev` generates a password when none is given."""

    model_config = SettingsConfigDict(env_prefix="AZAION_", extra="ignore")

    admin_email: str | None = None
    admin_password: SecretStr | None = None
