"""The `licenses` (users) and `client_licenses` (machine clients) tables: one licence each at most."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from azaion_server.db import Base, UTCDateTime, utcnow


class LicenseTerms:
    """A plan, an expiry, the folders its holder may read and how long it may work offline (the
    columns both tables share)."""

    plan: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    folders: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Hours a device may load offline under a lease; 0: never offline.
    offline_hours: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    max_devices: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class License(LicenseTerms, Base):
    """A user's licence."""

    __tablename__ = "licenses"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class ClientLicense(LicenseTerms, Base):
    """A machine client's licence (the same terms as a user's)."""

    __tablename__ = "client_licenses"

    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True)
