"""`POST /devices` (enrol this device), the caller's devices, and the ApiAdmins' list, approve, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from azaion_server.auth.deps import ApiAdmin, CurrentCaller
from azaion_server.deps import Changes, ClientAddress, SessionDep
from azaion_server.devices import models
from azaion_server.devices.deps import Enrolment
from azaion_server.devices.exceptions import DeviceNotFound
from azaion_server.devices.schemas import DeviceList, DeviceOut, EnrolRequest, RevokeRequest
from azaion_server.jwt.deps import ClaimsDep
from azaion_server.vocabulary import MAX_ID, Role

router = APIRouter(prefix="/devices", tags=["devices"])


@router.post(
    "",
    response_model=DeviceOut,
    status_code=201,
    responses={200: {"description": "already enrolled"}, 403: {"description": "DEVICE_LIMIT"}},
)
def enrol_device(
    body: EnrolRequest,
    claims: ClaimsDep,
    caller: CurrentCaller,
    settings: Enrolment,
    session: SessionDep,
    response: Response,
    address: ClientAddress,
) -> DeviceOut:
    """Enrol the device whose signing key this session is bound to (201), or answer it again (200)."""
    device, created = models.enrol(session, settings, caller, jkt=claims.jkt, body=body, address=address)
    if not created:
        response.status_code = 200
    return DeviceOut.of(device)


@router.get("", response_model=DeviceList)
def my_devices(caller: CurrentCaller, session: SessionDep) -> DeviceList:
    """The caller's own devices."""
    results = [DeviceOut.of(d) for d in models.devices_of(session, caller)]
    return DeviceList(results=results, count=len(results))


@router.get("/all", response_model=DeviceList)
def all_devices(
    _admin: ApiAdmin,
    session: SessionDep,
    user_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    client_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> DeviceList:
    """Every device, or one user's or one machine client's (ApiAdmins)."""
    results = [DeviceOut.of(d) for d in models.list_devices(session, user_id=user_id, client_id=client_id)]
    return DeviceList(results=results, count=len(results))


@router.post("/{device_id}/approve", response_model=DeviceOut)
def approve_device(
    device_id: int, admin: ApiAdmin, settings: Enrolment, session: SessionDep, address: ClientAddress
) -> DeviceOut:
    """Activate a pending device (ApiAdmins), within its owner's `max_devices`."""
    device = models.approve(session, settings, _checked(device_id), actor=admin, address=address)
    return DeviceOut.of(device)


@router.post("/{device_id}/revoke", response_model=DeviceOut)
def revoke_device(
    device_id: int,
    caller: CurrentCaller,
    changes: Changes,
    session: SessionDep,
    address: ClientAddress,
    body: Annotated[RevokeRequest | None, Body()] = None,
) -> DeviceOut:
    """Revoke a device (`reason` `lost`, the default, or `retired`): ApiAdmins any, other callers
    their own (a lost device). A `device.revoked` event goes to its owner and the ApiAdmins."""
    device = models.revoke(
        session,
        changes,
        _checked(device_id),
        actor=caller,
        reason=(body or RevokeRequest()).reason,
        own_only=caller.role != Role.API_ADMIN.value,
        address=address,
    )
    return DeviceOut.of(device)


def _checked(device_id: int) -> int:
    # An id out of range is a device that does not exist (404), as an unknown one is.
    if not 0 < device_id <= MAX_ID:
        raise DeviceNotFound()
    return device_id
