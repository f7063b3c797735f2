"""Device errors: each names what the device's owner or an admin must do."""

from __future__ import annotations

from azaion_server.errors import ApiError, Forbidden, NotFound
from azaion_server.jwt.exceptions import InvalidToken


class DeviceRequired(Forbidden):
    """A download without a device-bound token while the v1 envelope is off."""

    code = "DEVICE_REQUIRED"
    message = (
        "this server serves resources only to enrolled devices: upgrade the azaion client "
        "(it enrols the device and signs its requests)"
    )


class DeviceNotEnrolled(Forbidden):
    """A bound token whose key was never enrolled."""

    code = "DEVICE_NOT_ENROLLED"
    message = "this device is not enrolled: the client enrols it with POST /devices"


class DevicePending(Forbidden):
    """Enrolled, waiting for an ApiAdmin (AZAION_DEVICE_ENROLMENT=approval)."""

    code = "DEVICE_PENDING"
    message = "this device waits for an administrator's approval"


class DeviceRevoked(InvalidToken):
    """The token's device was revoked: refused on every request."""

    code = "DEVICE_REVOKED"
    message = "this device was revoked; ask an administrator"


class DeviceLimit(Forbidden):
    """The licence's `max_devices` are taken."""

    code = "DEVICE_LIMIT"
    message = "the licence allows no further device; ask an administrator to revoke an old one"


class DeviceKeyMismatch(ApiError):
    """The enrolled signing key is not the key the token is bound to, or is another's."""

    code = "BAD_REQUEST"
    message = "the signing key is not the key of this session's device proof"


class DeviceNotFound(NotFound):
    """No device with that id (or not the caller's)."""

    message = "no such device"
