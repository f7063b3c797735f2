"""The `publishers` table (keys that may sign releases) and `folder_policies` (signing required)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from azaion_server.db import Base, UTCDateTime, utcnow


class Publisher(Base):
    """A public key that may sign release statements for the folders it lists.

    `key_id` is the SHA-256 (hex) of the key's PEM SubjectPublicKeyInfo, the identifier the
    OpenSSF model-signing bundle carries as its public key hint. The private key never reaches
    the server.
    """

    __tablename__ = "publishers"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy reads it once

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str] = mapped_column(Text)
    folders: Mapped[list[str]] = mapped_column(JSON)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FolderPolicy(Base):
    """A folder whose uploads must carry a release statement by one of its publishers."""

    __tablename__ = "folder_policies"

    folder: Mapped[str] = mapped_column(String(255), primary_key=True)
    signatures_required: Mapped[bool] = mapped_column(Boolean, default=False)
