"""Bodies of the device routes; keys are public P-256 JWKs (RFC 7517, RFC 7518)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from azaion_server.devices.entities import Device
from azaion_server.jwt.dpop import check_p256_jwk
from azaion_server.licenses.schemas import HARDWARE_PATTERN


class PublicJwk(BaseModel):
    """A public EC P-256 key."""

    kty: str = Field(max_length=8)
    crv: str = Field(max_length=16)
    x: str = Field(max_length=64)
    y: str = Field(max_length=64)


class EnrolRequest(BaseModel):
    """`POST /devices`: the device's two public keys and its hardware hash (shown to admins)."""

    signing_key: PublicJwk
    sealing_key: PublicJwk
    hardware: str | None = Field(default=None, pattern=HARDWARE_PATTERN)

    @field_validator("signing_key", "sealing_key")
    @classmethod
    def _p256(cls, key: PublicJwk) -> PublicJwk:
        check_p256_jwk(key.model_dump())
        return key


class RevokeRequest(BaseModel):
    """`POST /devices/{id}/revoke` (the body is optional): why the device goes."""

    reason: Literal["lost", "retired"] = "lost"


class DeviceOut(BaseModel):
    """A device as its owner and admins see it; `revoked_*` are null until it is revoked."""

    id: int
    state: str
    jkt: str
    owner: str
    hardware: str | None
    created_at: float
    sealing_key: dict[str, Any]
    revoked_reason: str | None = None
    revoked_at: float | None = None

    @classmethod
    def of(cls, device: Device) -> DeviceOut:
        """The public view of a device row."""
        owner = f"client:{device.client_id}" if device.client_id is not None else str(device.user_id)
        return cls(
            id=device.id,
            state=device.state,
            jkt=device.jkt,
            owner=owner,
            hardware=device.hardware_hash,
            created_at=device.created_at.timestamp(),
            sealing_key=device.sealing_key,
            revoked_reason=device.revoked_reason,
            revoked_at=device.revoked_at.timestamp() if device.revoked_at is not None else None,
        )


class DeviceList(BaseModel):
    """`GET /devices`, `GET /devices/all`."""

    results: list[DeviceOut]
    count: int
