"""The `clients` table (machine clients) and `auth_challenges` (handshakes in progress)."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from azaion_server.db import Base, UTCDateTime, utcnow
from azaion_server.vocabulary import CLIENT_NAMEID_PREFIX


class Client(Base):
    """A machine that authenticates with a registered 256-bit key instead of a password.

    The key is stored encrypted under AZAION_CLIENT_KEY_SECRET (`clients/keys.py`): the server
    needs the raw key for the handshake and the envelope, a dump of the database alone must not.
    """

    __tablename__ = "clients"
    # AUTOINCREMENT: an old session token's `client:<id>` must never name a newer client.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy reads it once

    kind: ClassVar[str] = "client"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    hardware_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def nameid(self) -> str:
        """The token's `nameid`: `client:<id>`."""
        return f"{CLIENT_NAMEID_PREFIX}{self.id}"

    @property
    def identity(self) -> str:
        """The token's `unique_name` and the envelope identity: the client name."""
        return self.name

    def __repr__(self) -> str:
        return f"Client(id={self.id!r}, name={self.name!r}, role={self.role!r})"


class AuthChallenge(Base):
    """One challenge of `POST /auth`, consumed (deleted) by the first `POST /auth_verify` naming it."""

    __tablename__ = "auth_challenges"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(128))
    iv: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)

    def __repr__(self) -> str:
        return f"AuthChallenge(client_id={self.client_id!r}, expires_at={self.expires_at!r})"
