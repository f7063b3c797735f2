"""The `devices` table: the public keys of one enrolled device of a user or a machine client."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from azaion_server.db import Base, UTCDateTime, utcnow

ACTIVE = "active"
PENDING = "pending"
REVOKED = "revoked"
# Why a device was revoked (`POST /devices/{id}/revoke` `{"reason": ...}`).
LOST = "lost"
RETIRED = "retired"


class Device(Base):
    """A device's sealing key (HPKE recipient) and signing key (DPoP), as public JWKs.

    `jkt`, the RFC 7638 thumbprint of the signing key, is what a bound token names. Exactly one
    of `user_id` and `client_id` is set.
    """

    __tablename__ = "devices"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy reads it once

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    jkt: Mapped[str] = mapped_column(String(64), unique=True)
    signing_key: Mapped[dict[str, Any]] = mapped_column(JSON)
    sealing_key: Mapped[dict[str, Any]] = mapped_column(JSON)
    hardware_hash: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    # Set once, by the revocation that made the device `revoked` (`lost` or `retired`).
    revoked_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
