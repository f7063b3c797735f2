"""Recording and reading the audit trail.

`record` adds a row to the caller's transaction, so that the row and what it records commit
together (a download whose answer fails to be built records nothing it did not issue).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from azaion_server import vocabulary
from azaion_server.audit.entities import AuditEvent
from azaion_server.audit.schemas import AuditEventOut, AuditPage, AuditQuery
from azaion_server.vocabulary import Caller

# The actions of docs/server.md.
SMALL_PART = "small_part"
LOGIN = "login"
LOGOUT = "logout"
KEY_ROTATED = "signing_key.rotated"
DEVICE_ENROLLED = "device.enrolled"
DEVICE_APPROVED = "device.approved"
# The same word as the change event of a revocation.
DEVICE_REVOKED = vocabulary.DEVICE_REVOKED
ONLINE = "online"
LEASE = "lease"


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value


def record(
    session: Session,
    action: str,
    caller: Caller | None = None,
    *,
    address: str | None = None,
    device: str | None = None,
    folder: str | None = None,
    name: str | None = None,
    version: str | None = None,
    mode: str | None = None,
    detail: str | None = None,
    actor: str | None = None,
    actor_name: str | None = None,
) -> None:
    """Add one audit row to `session` (committed with the caller's transaction)."""
    session.add(
        AuditEvent(
            action=action,
            actor=caller.nameid if caller is not None else actor,
            actor_name=caller.identity if caller is not None else actor_name,
            device=device,
            folder=folder,
            name=name,
            version=version,
            address=(address or None) and address[:64],
            mode=mode,
            detail=detail,
        )
    )


def search(session: Session, query: AuditQuery) -> AuditPage:
    """A page of audit rows matching `query`, newest first."""
    conditions = []
    for column, value in (
        (AuditEvent.action, query.action),
        (AuditEvent.actor, query.actor),
        (AuditEvent.device, query.device),
        (AuditEvent.folder, query.folder),
        (AuditEvent.name, query.name),
        (AuditEvent.mode, query.mode),
    ):
        if value is not None:
            conditions.append(column == value)
    if query.since is not None:
        conditions.append(AuditEvent.at >= _utc(query.since))
    if query.until is not None:
        conditions.append(AuditEvent.at < _utc(query.until))
    if query.before is not None:
        conditions.append(AuditEvent.id < query.before)
    rows = list(
        session.scalars(
            select(AuditEvent).where(*conditions).order_by(AuditEvent.id.desc()).limit(query.limit + 1)
        )
    )
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return AuditPage(
        results=[AuditEventOut.model_validate(row) for row in rows],
        next=rows[-1].id if more and rows else None,
    )


class AuditLog:
    """`vocabulary.AuditTrail` for the packages that may not import this one."""

    def __repr__(self) -> str:
        return "AuditLog()"

    def record(self, session: Session, action: str, caller: Caller | None = None, **fields: Any) -> None:
        """Add one audit row (see `record`)."""
        record(session, action, caller, **fields)
