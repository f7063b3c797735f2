"""Licence bodies: the admin's `PUT /users/{id}/license`, `/license/validate` and `/license/info`."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field, field_validator

from azaion_server.names import is_valid_name

HARDWARE_PATTERN = r"^[0-9a-f]{64}$"
# A year: a lease never outlives its licence anyway, and a longer offline window defeats revocation.
MAX_OFFLINE_HOURS = 366 * 24


class LicenseUpdate(BaseModel):
    """A licence as an ApiAdmin sets it; a naive `expires_at` is taken as UTC."""

    plan: str = Field(min_length=1, max_length=64)
    expires_at: dt.datetime
    folders: list[str] = Field(default_factory=list, max_length=1000)
    # strict: pydantic would take `false` for 0 (found by schemathesis).
    offline_hours: int = Field(default=0, ge=0, le=MAX_OFFLINE_HOURS, strict=True)
    # Devices the holder may enrol (docs/protocol.md, `POST /devices`).
    max_devices: int = Field(default=1, ge=0, le=10000, strict=True)

    @field_validator("folders")
    @classmethod
    def _valid_folders(cls, folders: list[str]) -> list[str]:
        if not all(is_valid_name(folder) for folder in folders):
            raise ValueError("invalid folder name")
        return sorted(set(folders))

    @field_validator("expires_at", mode="before")
    @classmethod
    def _a_date_and_time(cls, value: object) -> object:
        # pydantic would read a number as seconds since 1970: the schema says an ISO 8601 string.
        if not isinstance(value, (str, dt.datetime)):
            raise ValueError("expires_at must be an ISO 8601 date and time")
        return value

    @field_validator("expires_at")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class LicenseInfo(BaseModel):
    """`GET /license/info`: nulls when the account has no licence."""

    plan: str | None = None
    expires_at: dt.datetime | None = None
    folders: list[str] | None = None
    offline_hours: int | None = None
    max_devices: int | None = None


class ValidateRequest(BaseModel):
    """`POST /license/validate`: the hardware hash of the calling machine."""

    hardware: str = Field(pattern=HARDWARE_PATTERN)


class ValidateResponse(BaseModel):
    """A valid licence."""

    valid: bool = True
    plan: str
    expires_at: dt.datetime
    folders: list[str]
    offline_hours: int = 0
