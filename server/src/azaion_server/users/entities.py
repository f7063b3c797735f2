"""The `users` table."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from azaion_server.db import Base, UTCDateTime, utcnow


class User(Base):
    """A person who logs in with email and password; bound to one machine after first use."""

    __tablename__ = "users"
    # AUTOINCREMENT: SQLite must never hand a deleted user's id to a new user, or an old token's
    # `nameid` would name someone else.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy reads it once

    kind: ClassVar[str] = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    hardware_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def nameid(self) -> str:
        """The token's `nameid`: the id as a string."""
        return str(self.id)

    @property
    def identity(self) -> str:
        """The token's `unique_name` and the envelope identity: the (normalised) email."""
        return self.email

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, email={self.email!r}, role={self.role!r})"
