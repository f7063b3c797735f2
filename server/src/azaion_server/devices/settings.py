"""Enrolment policy (AZAION_DEVICE_ENROLMENT)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DeviceSettings(BaseSettings):
    """How a new device becomes active, and how many a caller without a licence may hold."""

    model_config = SettingsConfigDict(env_prefix="AZAION_", extra="ignore")

    # `auto`: active at once while the licence has room; `approval`: pending until an ApiAdmin approves.
    device_enrolment: Literal["auto", "approval"] = "auto"
    # Devices of a caller that has no licence (uploaders, admins); a licence says `max_devices`.
    max_devices_without_licence: int = Field(default=1, ge=0, le=10000)
