"""The `resources` table (metadata) and `resource_blobs` (bytes, when stored in the database)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from azaion_server.db import Base, UTCDateTime, utcnow


class Resource(Base):
    """One named resource in a folder; a new upload of the same name is a new version of it."""

    __tablename__ = "resources"
    __table_args__ = (
        UniqueConstraint("folder", "name", name="uq_resources_folder_name"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    folder: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    checksum: Mapped[str] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(255), nullable=True)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    alive: Mapped[bool] = mapped_column(Boolean, default=True)
    uploaded: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    modified: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    # Set instead of owner_id when a machine client uploaded it.
    owner_client_id: Mapped[int | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL"), nullable=True
    )
    # Monotonic per folder and name, assigned by the server (1 for the first upload); a signed
    # release statement names it, so a device can refuse an older version (docs/security.md).
    version_number: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The current version's release statement (docs/formats.md), when it was signed.
    statement: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class ResourceBlob(Base):
    """The bytes of a resource under AZAION_STORAGE=db."""

    __tablename__ = "resource_blobs"

    resource_id: Mapped[int] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
