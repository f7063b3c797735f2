"""Licence checking settings."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LicenseSettings(BaseSettings):
    """A grace period after `expires_at`, for clocks that drift on edge devices."""

    model_config = SettingsConfigDict(env_prefix="AZAION_", extra="ignore")

    license_grace_seconds: int = Field(default=0, ge=0)
