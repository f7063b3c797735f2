"""The `events` table (the change log every stream reads) and `event_streams` (open streams)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from azaion_server.db import Base, UTCDateTime, utcnow


class Event(Base):
    """One change, numbered in commit order (the SSE `id`).

    Besides the public `payload`, a row keeps what deciding who may see it needs: the folder
    and owner of the resource and its state before and after the change, or the caller a
    `user.hardware_reset` is about.
    """

    __tablename__ = "events"
    # AUTOINCREMENT: ids are never reused, or a stream resuming after a deleted id would skip.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy reads it once

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    subject: Mapped[str | None] = mapped_column(String(80), nullable=True)
    folder: Mapped[str | None] = mapped_column(String(255), nullable=True)
    owner: Mapped[str | None] = mapped_column(String(80), nullable=True)
    published: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    alive: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    was_published: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    was_alive: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class EventStream(Base):
    """A lease on one open `GET /events` stream, renewed at every heartbeat.

    Counting live leases caps the streams of one caller across every instance; a lease whose
    instance died runs out by itself.
    """

    __tablename__ = "event_streams"
    # AUTOINCREMENT: a stalled stream renewing or closing its expired lease must not touch a
    # newer stream's lease that took the same id.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy reads it once

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(80), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
