"""Recording change events, deciding who sees them, reading them back, and stream leases.

Events are rows written in the same transaction as the change they describe, so there is no
change without its event and no event without its change. Their ids must become visible in
increasing order, or a stream that read up to id 7 would never see an id 6 committed after it:
SQLite has one writer at a time, and on PostgreSQL every transaction that records an event
takes one advisory lock, held until its commit, just before it draws the id. The same
transaction sends a `NOTIFY`, which PostgreSQL delivers at commit to every instance.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from azaion_server.db import utcnow
from azaion_server.events.entities import Event, EventStream
from azaion_server.events.exceptions import TooManyStreams
from azaion_server.vocabulary import (
    DEVICE_REVOKED,
    HARDWARE_RESET,
    RESOURCE_CREATED,
    RESOURCE_DELETED,
    RESOURCE_PUBLISHED,
    RESOURCE_UPDATED,
    Caller,
    ResourceChange,
    Role,
    may_read,
)

__all__ = [
    "DEVICE_REVOKED",
    "HARDWARE_RESET",
    "RESOURCE_CREATED",
    "RESOURCE_DELETED",
    "RESOURCE_PUBLISHED",
    "RESOURCE_UPDATED",
    "EventLog",
    "Viewer",
    "record_device_revoked",
    "record_hardware_reset",
    "record_resource_event",
]

CHANNEL = "azaion_events"
# Set in `session.info` by a transaction that recorded an event; `AppContext` wakes this
# process's streams after such a commit.
PENDING = "azaion_events_pending"
_EVENTS_LOCK = 0x617A6576  # "azev"
_STREAMS_LOCK = 0x617A7374  # "azst"
_ABOUT_A_CALLER = frozenset({HARDWARE_RESET, DEVICE_REVOKED})


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _record(session: Session, event: Event) -> Event:
    postgresql = _is_postgresql(session)
    if postgresql:
        session.execute(select(func.pg_advisory_xact_lock(_EVENTS_LOCK)))
    event.at = utcnow()
    session.add(event)
    session.flush()
    if postgresql:
        session.execute(select(func.pg_notify(CHANNEL, str(event.id))))
    session.info[PENDING] = True
    return event


def record_resource_event(session: Session, change: ResourceChange) -> Event:
    """Record a change of a resource, with what deciding who may see it needs."""
    # The change's fields are the event's columns, one for one.
    return _record(session, Event(**dataclasses.asdict(change)))


def record_hardware_reset(session: Session, caller: Caller) -> Event:
    """Record that a user's (or a machine client's) hardware binding was reset."""
    payload: dict[str, Any]
    if caller.kind == "client":
        payload = {"client_id": caller.id, "client_name": caller.identity}
    else:
        payload = {"user_id": caller.id, "email": caller.identity}
    payload["nameid"] = caller.nameid
    return _record(session, Event(type=HARDWARE_RESET, subject=caller.nameid, payload=payload))


def record_device_revoked(session: Session, *, device_id: int, reason: str, owner: str) -> Event:
    """Record that a device was revoked: for its owner (`owner`, a `nameid`) and ApiAdmins, so
    that a loader following events wipes what it holds for the device."""
    payload = {"device_id": device_id, "reason": reason, "nameid": owner}
    return _record(session, Event(type=DEVICE_REVOKED, subject=owner, payload=payload))


class EventLog:
    """The `ChangeLog` of the server: changes become rows of the `events` table."""

    def __repr__(self) -> str:
        return "EventLog()"

    def hardware_reset(self, session: Session, caller: Caller) -> None:
        """Record that a caller's hardware binding was reset."""
        record_hardware_reset(session, caller)

    def resource_changed(self, session: Session, change: ResourceChange) -> None:
        """Record a change of a resource."""
        record_resource_event(session, change)

    def device_revoked(self, session: Session, *, device_id: int, reason: str, owner: str) -> None:
        """Record that a device was revoked."""
        record_device_revoked(session, device_id=device_id, reason=reason, owner=owner)


def message(event: Event) -> dict[str, Any]:
    """The `data` of an event as streamed: `{id, type, at, ...payload}`."""
    return {"id": event.id, "type": event.type, "at": event.at.timestamp(), **event.payload}


@dataclass(frozen=True)
class Viewer:
    """What one subscriber may see: its `nameid`, its role and (Operators) its licensed folders."""

    nameid: str
    role: str
    folders: frozenset[str] | None = None

    def sees(self, event: Event) -> bool:
        """Whether the subscriber may see `event`.

        A resource event is shown to whoever may read the resource after the change or could
        read it before: a deletion or an unpublish reaches the loaders that hold the resource,
        so that they drop it; a draft's changes reach no Operator.
        """
        # About one caller: that caller and the ApiAdmins, whatever the folders.
        if event.type in _ABOUT_A_CALLER:
            return event.subject == self.nameid or self.role == Role.API_ADMIN.value
        if self.folders is not None and event.folder not in self.folders:
            return False
        owner = event.owner is not None and event.owner == self.nameid
        after = may_read(self.role, owner=owner, alive=bool(event.alive), published=bool(event.published))
        if after or event.was_alive is None:
            return after
        return may_read(self.role, owner=owner, alive=event.was_alive, published=bool(event.was_published))


def latest_id(session: Session) -> int:
    """The id of the newest event (0 when there is none)."""
    return int(session.scalar(select(func.max(Event.id))) or 0)


def events_after(session: Session, last_id: int, limit: int) -> list[Event]:
    """Up to `limit` events after `last_id`, oldest first."""
    return list(session.scalars(select(Event).where(Event.id > last_id).order_by(Event.id).limit(limit)))


def prune_events(session: Session, retention_seconds: int) -> None:
    """Forget events older than the retention (a stream resuming from before them misses them)."""
    session.execute(delete(Event).where(Event.at < utcnow() - dt.timedelta(seconds=retention_seconds)))
    session.commit()


def _streams_key(subject: str) -> int:
    value = zlib.crc32(subject.encode())
    return value - 2**32 if value >= 2**31 else value


def open_stream(session: Session, subject: str, *, limit: int, lease_seconds: float) -> int:
    """Take a lease for a new stream of `subject`; TooManyStreams when it has `limit` already.

    The lease is inserted before the count: on SQLite the insert takes the one write lock, on
    PostgreSQL an advisory lock per subject serialises the callers that race, so two streams
    opening at once cannot both see room for one.
    """
    now = utcnow()
    if _is_postgresql(session):
        session.execute(select(func.pg_advisory_xact_lock(_STREAMS_LOCK, _streams_key(subject))))
    session.execute(delete(EventStream).where(EventStream.expires_at <= now))
    lease = EventStream(subject=subject, expires_at=now + dt.timedelta(seconds=lease_seconds))
    session.add(lease)
    session.flush()
    count = session.scalar(
        select(func.count()).where(EventStream.subject == subject, EventStream.expires_at > now)
    )
    if (count or 0) > limit:
        session.rollback()
        raise TooManyStreams(retry_after=int(lease_seconds))
    session.commit()
    return lease.id


def renew_stream(session: Session, lease_id: int, lease_seconds: float) -> None:
    """Push a lease's expiry forward (at every heartbeat)."""
    expires = utcnow() + dt.timedelta(seconds=lease_seconds)
    session.execute(update(EventStream).where(EventStream.id == lease_id).values(expires_at=expires))
    session.commit()


def close_stream(session: Session, lease_id: int) -> None:
    """Give a stream's lease back."""
    session.execute(delete(EventStream).where(EventStream.id == lease_id))
    session.commit()
