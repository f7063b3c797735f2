"""The words every package shares: roles, the caller, ids, emails and the names of changes.

This module sits at the bottom of the server's layers (docs/architecture.md): it imports no
other package of the server, so every package may use it without an import cycle.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class Role(str, enum.Enum):
    """The five roles of DESIGN.md; the value is the JWT `role` claim."""

    API_ADMIN = "ApiAdmin"
    ADMIN = "Admin"
    RESOURCE_UPLOADER = "ResourceUploader"
    VALIDATOR = "Validator"
    OPERATOR = "Operator"


UPLOADER_ROLES = frozenset({Role.API_ADMIN, Role.ADMIN, Role.RESOURCE_UPLOADER})
ADMIN_ROLES = frozenset({Role.API_ADMIN, Role.ADMIN})
# The same as the strings of the `role` columns and claims, for checks on the hot path.
UPLOADER_ROLE_VALUES = frozenset(role.value for role in UPLOADER_ROLES)
ADMIN_ROLE_VALUES = frozenset(role.value for role in ADMIN_ROLES)
_READS_UNPUBLISHED = Role.VALIDATOR.value
_READS_PUBLISHED = frozenset({Role.RESOURCE_UPLOADER.value, Role.OPERATOR.value})


def may_read(role: str, *, owner: bool, alive: bool, published: bool) -> bool:
    """Whether `role` may read a resource in this state (DESIGN.md's roles table; licences apart).

    Admins read anything; uploaders what they uploaded (dead or alive) and live published
    resources; Validators live resources, published or not; Operators live published ones.
    Unknown roles: nothing. Downloads, listings and event streams all ask this one function.
    """
    if role in ADMIN_ROLE_VALUES:
        return True
    if role == Role.RESOURCE_UPLOADER.value and owner:
        return True
    if not alive:
        return False
    if role == _READS_UNPUBLISHED:
        return True
    return role in _READS_PUBLISHED and published


# Ids are 32-bit integers in every database the server runs on; larger ones are malformed.
MAX_ID = 2**31 - 1
# A machine client's token `nameid` and owner references: `client:<id>` (a user's is `<id>`).
CLIENT_NAMEID_PREFIX = "client:"


def normalise_email(email: str) -> str:
    """The one spelling of an email used everywhere: stripped, lower-cased."""
    return email.strip().lower()


class Caller(Protocol):
    """Who makes a request: a user (email and password) or a machine client (name and key).

    `users.entities.User` and `clients.entities.Client` are the two kinds; code below them in
    the layers sees only this.
    """

    @property
    def id(self) -> int:
        """The row id (of the users or the clients table)."""

    @property
    def role(self) -> str:
        """A `Role` value."""

    @property
    def hardware_hash(self) -> str | None:
        """The machine it is bound to, once bound."""

    @property
    def kind(self) -> str:
        """`user` or `client`."""

    @property
    def nameid(self) -> str:
        """The token's `nameid`: `12` or `client:3`."""

    @property
    def identity(self) -> str:
        """The token's `unique_name` and the envelope identity: email or client name."""


# The names of the change events of docs/protocol.md (the SSE `event` field).
RESOURCE_CREATED = "resource.created"
RESOURCE_UPDATED = "resource.updated"
RESOURCE_DELETED = "resource.deleted"
RESOURCE_PUBLISHED = "resource.published"
HARDWARE_RESET = "user.hardware_reset"
DEVICE_REVOKED = "device.revoked"


@dataclass(frozen=True)
class ResourceChange:
    """A change of one resource, as the change log records it.

    `owner` is the uploader's `nameid`; `was_*` the state before the change (None for a
    resource that did not exist); `payload` the public view streamed to subscribers.
    """

    type: str
    folder: str
    owner: str | None
    published: bool
    alive: bool
    was_published: bool | None
    was_alive: bool | None
    payload: dict[str, Any]


class ChangeLog(Protocol):
    """Records changes in the transaction that makes them (`events.models.EventLog`).

    Packages that change things (users, clients, resources) are given one instead of importing
    the events package, which sits beside resources in the layers.
    """

    def hardware_reset(self, session: Session, caller: Caller) -> None:
        """Record that a caller's hardware binding was reset."""

    def resource_changed(self, session: Session, change: ResourceChange) -> None:
        """Record a change of a resource."""

    def device_revoked(self, session: Session, *, device_id: int, reason: str, owner: str) -> None:
        """Record that a device was revoked; `owner` is its owner's `nameid`."""


class AuditTrail(Protocol):
    """Adds audit rows to the caller's transaction (`audit.models.AuditLog`), for the packages
    below the audit package (the token routes' logout)."""

    def record(self, session: Session, action: str, caller: Caller | None = None, **fields: Any) -> None:
        """Add one audit row (`audit.models.record`)."""
