"""Enrolment, the states of a device (pending, active, revoked), and finding the device of a token.

A device is enrolled by its owner's session whose token is bound (`cnf.jkt`) to the signing key
it enrols: the DPoP proof of that request shows the device holds the key. How many devices a
caller may hold is its licence's `max_devices` (AZAION_MAX_DEVICES_WITHOUT_LICENCE without one).
"""

from __future__ import annotations

import logging

from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from azaion_server.audit import models as audit
from azaion_server.db import utcnow
from azaion_server.devices.entities import ACTIVE, LOST, PENDING, REVOKED, Device
from azaion_server.devices.exceptions import (
    DeviceKeyMismatch,
    DeviceLimit,
    DeviceNotEnrolled,
    DeviceNotFound,
    DevicePending,
    DeviceRevoked,
)
from azaion_server.devices.schemas import EnrolRequest
from azaion_server.devices.settings import DeviceSettings
from azaion_server.jwt.dpop import check_p256_jwk, thumbprint
from azaion_server.licenses.models import get_license
from azaion_server.prefetched import MISSING, recall, remember
from azaion_server.vocabulary import CLIENT_NAMEID_PREFIX, Caller, ChangeLog, Role

log = logging.getLogger(__name__)


def _owner_column(caller: Caller):  # type: ignore[no-untyped-def]
    return Device.client_id if caller.kind == "client" else Device.user_id


# The `prefetched` kind of a device found by its thumbprint.
_DEVICE = "device"


def _owns(caller: Caller, device: Device) -> bool:
    owner = device.client_id if caller.kind == "client" else device.user_id
    return owner == caller.id


def max_devices(session: Session, settings: DeviceSettings, caller: Caller) -> int:
    """How many devices (pending or active) `caller` may hold."""
    licence = get_license(session, caller)
    return settings.max_devices_without_licence if licence is None else licence.max_devices


def _held(session: Session, caller: Caller, states: tuple[str, ...]) -> int:
    counted = select(func.count()).where(_owner_column(caller) == caller.id, Device.state.in_(states))
    return int(session.scalar(counted) or 0)


def enrol(
    session: Session,
    settings: DeviceSettings,
    caller: Caller,
    *,
    jkt: str | None,
    body: EnrolRequest,
    address: str | None = None,
) -> tuple[Device, bool]:
    """The caller's device for these keys and whether it is new: active when the licence has
    room (`auto`), pending under `approval`, DeviceLimit when no room is left.

    Enrolling the same keys again answers the same device (a client enrols at every start);
    only a new device gets its `device.enrolled` audit row, in the same transaction.
    """
    signing = check_p256_jwk(body.signing_key.model_dump())
    sealing = check_p256_jwk(body.sealing_key.model_dump())
    if jkt is None or thumbprint(signing) != jkt:
        raise DeviceKeyMismatch()
    existing = device_of(session, jkt)
    if existing is not None:
        return _known(caller, existing, sealing), False
    # An ApiAdmin's own device needs nobody's approval: someone must be able to approve the rest.
    approval = settings.device_enrolment == "approval" and caller.role != Role.API_ADMIN.value
    if not approval and _held(session, caller, (ACTIVE, PENDING)) >= max_devices(session, settings, caller):
        raise DeviceLimit()
    device = Device(
        jkt=jkt,
        signing_key=signing,
        sealing_key=sealing,
        hardware_hash=body.hardware,
        state=PENDING if approval else ACTIVE,
    )
    if caller.kind == "client":
        device.client_id = caller.id
    else:
        device.user_id = caller.id
    session.add(device)
    try:
        session.flush()  # its id, for the audit row
        audit.record(
            session,
            audit.DEVICE_ENROLLED,
            caller,
            address=address,
            device=str(device.id),
            detail=device.state,
        )
        session.commit()
    except IntegrityError:
        # The same keys enrolled at the same moment by another request: that one's device.
        session.rollback()
        existing = device_of(session, jkt)
        if existing is None:
            raise
        return _known(caller, existing, sealing), False
    log.info("%s %s enrolled device %s (%s)", caller.kind, caller.id, device.id, device.state)
    return device, True


def _known(caller: Caller, existing: Device, sealing: dict[str, str]) -> Device:
    # Enrolling known keys again answers their device, for its owner and the same sealing key.
    if not _owns(caller, existing) or existing.sealing_key != sealing:
        raise DeviceKeyMismatch()
    return existing


def device_of(session: Session, jkt: str) -> Device | None:
    """The device whose signing key has this thumbprint.

    A device found is kept for the rest of the transaction (`prefetched`): a download asks for
    it twice (the token check, then the sealing), and the second answer would be the same row
    from the session's identity map anyway. Only found, still persistent rows are kept, so an
    enrolment or a deletion in the same transaction reads the table as before."""
    kept = recall(session, _DEVICE, jkt)
    if kept is not MISSING and inspect(kept).persistent:
        return kept  # type: ignore[no-any-return]
    device = session.scalar(select(Device).where(Device.jkt == jkt))
    if device is not None:
        remember(session, _DEVICE, jkt, device)
    return device


def check_bound_device(session: Session, caller: Caller, jkt: str) -> None:
    """The check of every request with a bound token: DeviceRevoked when its device was revoked
    or belongs to another caller. A key not enrolled yet passes (its first request enrols it)."""
    device = device_of(session, jkt)
    if device is not None and (device.state == REVOKED or not _owns(caller, device)):
        raise DeviceRevoked()


def active_device(session: Session, caller: Caller, jkt: str | None) -> Device:
    """The caller's active device the token is bound to; DeviceNotEnrolled, DevicePending or
    DeviceRevoked otherwise."""
    device = device_of(session, jkt) if jkt is not None else None
    if device is None or not _owns(caller, device):
        raise DeviceNotEnrolled()
    if device.state == REVOKED:
        raise DeviceRevoked()
    if device.state == PENDING:
        raise DevicePending()
    return device


def list_devices(
    session: Session, *, user_id: int | None = None, client_id: int | None = None
) -> list[Device]:
    """Devices of one user, of one machine client, or (neither given) all, oldest first."""
    statement = select(Device).order_by(Device.id)
    if user_id is not None:
        statement = statement.where(Device.user_id == user_id)
    if client_id is not None:
        statement = statement.where(Device.client_id == client_id)
    return list(session.scalars(statement.limit(10000)))


def devices_of(session: Session, caller: Caller) -> list[Device]:
    """The caller's own devices."""
    return list(session.scalars(select(Device).where(_owner_column(caller) == caller.id).order_by(Device.id)))


def _get(session: Session, device_id: int) -> Device:
    device = session.get(Device, device_id, with_for_update=True)
    if device is None:
        raise DeviceNotFound()
    return device


def owner_nameid(device: Device) -> str:
    """The `nameid` of a device's owner: `12` for a user, `client:3` for a machine client."""
    if device.client_id is not None:
        return f"{CLIENT_NAMEID_PREFIX}{device.client_id}"
    return str(device.user_id)


def approve(
    session: Session,
    settings: DeviceSettings,
    device_id: int,
    *,
    actor: Caller | None = None,
    address: str | None = None,
) -> Device:
    """Make a pending device active (an ApiAdmin, `actor`), within its owner's `max_devices`;
    the `device.approved` audit row commits with it."""
    device = _get(session, device_id)
    if device.state == PENDING:
        owner = _Owner(device)
        if _held(session, owner, (ACTIVE,)) >= max_devices(session, settings, owner):
            raise DeviceLimit()
        device.state = ACTIVE
        audit.record(session, audit.DEVICE_APPROVED, actor, address=address, device=str(device.id))
        session.commit()
        log.info("device %s approved", device.id)
    return device


def revoke(
    session: Session,
    changes: ChangeLog,
    device_id: int,
    *,
    actor: Caller,
    reason: str = LOST,
    own_only: bool = False,
    address: str | None = None,
) -> Device:
    """Revoke a device for good: its token is refused on its next request, nothing more is sealed
    to it and no lease is signed for it. With `own_only`, only the actor's own device (an owner
    revoking a lost device); DeviceNotFound for anyone else's.

    The first revocation stores `reason` and the time, and records the `device.revoked` event
    (for the owner and ApiAdmins) and audit row in its transaction; revoking again changes nothing.
    """
    device = _get(session, device_id)
    if own_only and not _owns(actor, device):
        raise DeviceNotFound()
    if device.state != REVOKED:
        device.state = REVOKED
        device.revoked_reason = reason
        device.revoked_at = utcnow()
        owner = owner_nameid(device)
        changes.device_revoked(session, device_id=device.id, reason=reason, owner=owner)
        audit.record(
            session, audit.DEVICE_REVOKED, actor, address=address, device=str(device.id), detail=reason
        )
        session.commit()
        log.info("device %s revoked (%s)", device.id, reason)
    return device


class _Owner:
    """The owner of a device as a `Caller`-shaped key for the licence and count queries."""

    def __init__(self, device: Device) -> None:
        self.kind = "client" if device.client_id is not None else "user"
        self.id = device.client_id if device.client_id is not None else device.user_id
