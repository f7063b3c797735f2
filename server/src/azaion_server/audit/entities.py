"""The `audit_events` table: one row per small part issued, login, logout and key rotation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from azaion_server.db import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    """Something the server issued or a change of who may act (docs/server.md, "Audit").

    `actor` is the caller's token `nameid` (`12`, `client:3`) and `actor_name` its email or
    client name, copied so that a row still says who after the account is deleted.
    """

    __tablename__ = "audit_events"
    # AUTOINCREMENT: ids are the paging cursor and must only grow.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy reads it once

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    actor_name: Mapped[str | None] = mapped_column(String(254), nullable=True)
    device: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    folder: Mapped[str | None] = mapped_column(String(255), nullable=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The issued small part's version id (docs/formats.md, section 3), which every upload changes.
    version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # How it was issued: `online` (a download) or `lease` (an offline lease).
    mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    detail: Mapped[str | None] = mapped_column(String(255), nullable=True)

    def __repr__(self) -> str:
        return f"AuditEvent(id={self.id!r}, action={self.action!r}, actor={self.actor!r})"
