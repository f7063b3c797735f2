"""The exceptions of azaion: one base, one subclass per thing a person can act on.

Every public call of the client raises a subclass of :class:`AzaionError`. Each carries a stable
``code`` (the same strings as the server's JSON errors, see ``docs/protocol.md``) beside a
message that says what to do. Subclasses mix in the built-in exception that fits, so callers
that catch ``ValueError`` or ``ConnectionError`` keep working. No message ever holds a
password, a key or a token.
"""

from __future__ import annotations

from typing import Any, Optional


class AzaionError(Exception):
    """Base of every error raised by azaion."""

    code = "ERROR"

    def __init__(self, message: str, *, code: Optional[str] = None, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.status = status

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


# -- input -------------------------------------------------------------------------------


class InvalidName(AzaionError, ValueError):
    """A folder or resource name that could escape its directory or is not allowed."""

    code = "INVALID_NAME"


class ConfigurationError(AzaionError, ValueError):
    """Missing or malformed configuration: API URL, ``cdn.yaml``, environment variables."""

    code = "CONFIGURATION"


class BadRequest(AzaionError, ValueError):
    """The server refused the request as malformed."""

    code = "BAD_REQUEST"


class TooLarge(AzaionError, ValueError):
    """The upload is above the server's size limit."""

    code = "TOO_LARGE"


# -- authentication and authorisation ------------------------------------------------------


class NotAuthenticated(AzaionError):
    """A call that needs credentials was made before any were set."""

    code = "NOT_AUTHENTICATED"


class AuthenticationError(AzaionError, PermissionError):
    """Wrong email or password, wrong machine-client key, or a session the server refused."""

    code = "INVALID_CREDENTIALS"


class InvalidToken(AuthenticationError):
    """The server's token could not be decoded or verified."""

    code = "INVALID_TOKEN"


class UntrustedServerKeys(InvalidToken):
    """The server's token is signed by a key this client does not trust, and no change of keys
    signed by a key it does trust was offered: an impostor, or keys rotated past what this
    client knew (configure the server's current JWKS again: docs/client.md)."""

    code = "UNTRUSTED_SERVER_KEYS"


class TooManyAttempts(AuthenticationError):
    """Login throttled by the server; ``retry_after`` says how many seconds to wait."""

    code = "TOO_MANY_ATTEMPTS"

    def __init__(self, message: str, *, retry_after: Optional[float] = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class PermissionDenied(AzaionError, PermissionError):
    """The account's role may not do this."""

    code = "FORBIDDEN"


class HardwareMismatch(PermissionDenied):
    """The account is bound to another device."""

    code = "HARDWARE_MISMATCH"


class LicenseError(PermissionDenied):
    """No licence, or the licence does not cover this folder."""

    code = "LICENSE_REQUIRED"


class LicenseExpired(LicenseError):
    """The licence's expiry date is past."""

    code = "LICENSE_EXPIRED"


# -- resources -----------------------------------------------------------------------------


class ResourceNotFound(AzaionError, LookupError):
    """No such resource, or not one this account may read."""

    code = "NOT_FOUND"


class IntegrityError(AzaionError, ValueError):
    """Bytes that fail authentication: tampered, truncated, stale, or for another key.

    Tampering and a wrong key raise this same class with the same message, so the error is no
    oracle for an attacker.
    """

    code = "INTEGRITY"


# -- releases (docs/security.md, "Signed releases") ------------------------------------------


class SignatureError(IntegrityError):
    """A release statement that is malformed or whose signature does not verify."""

    code = "SIGNATURE_INVALID"


class SignatureRequired(SignatureError):
    """An unsigned resource in a folder where the server or this device accepts only signed ones."""

    code = "SIGNATURE_REQUIRED"


class UntrustedPublisher(SignatureError):
    """A release statement signed by a key this device does not trust."""

    code = "UNTRUSTED_PUBLISHER"


class PublisherNotAllowed(SignatureError, PermissionError):
    """A release statement signed by a key not allowed to sign for this folder."""

    code = "PUBLISHER_NOT_ALLOWED"


class StatementMismatch(SignatureError):
    """A valid release statement, but for another folder or name."""

    code = "STATEMENT_MISMATCH"


class DigestMismatch(SignatureError):
    """Plaintext whose size or SHA-256 differs from what its release statement says."""

    code = "DIGEST_MISMATCH"


class RollbackError(IntegrityError):
    """A release older than one this device accepted before (or another release under the same number)."""

    code = "ROLLBACK"


class VersionConflict(AzaionError):
    """Another upload of the same name came first; sign again for the next version number."""

    code = "VERSION_CONFLICT"


class CacheError(AzaionError, OSError):
    """The local cache of big parts could not be written (disk full, permissions)."""

    code = "CACHE_ERROR"


class DeviceError(PermissionDenied):
    """This device may not load: not enrolled (the licence has no room), waiting for approval,
    revoked, or its key store does not open (another machine, a changed fingerprint)."""

    code = "DEVICE_ERROR"


class DeviceRevoked(DeviceError):
    """The server revoked this device (lost or retired). The client has already wiped what it held
    for it: cached big parts, partial downloads, leases and the device key store."""

    code = "DEVICE_REVOKED"


# -- offline ---------------------------------------------------------------------------------


class OfflineError(AzaionError, ConnectionError):
    """An offline load is not possible: the API cannot be reached (or ``AZAION_OFFLINE=1``) and
    this device holds no lease for the resource, or its big part is not in the cache."""

    code = "OFFLINE_UNAVAILABLE"


class LeaseError(IntegrityError):
    """A stored lease is refused: edited, signed by a key this client does not trust, or issued
    to another device, resource or version."""

    code = "LEASE_INVALID"


class LeaseExpired(LeaseError):
    """The lease's time is up (``expires_at`` has passed): load once online to get a new one."""

    code = "LEASE_EXPIRED"


class ClockError(AzaionError, PermissionError):
    """This machine's clock is earlier than the latest time the client has seen: offline loads
    stay refused until the clock is right (or the device has been online again)."""

    code = "CLOCK_ROLLED_BACK"


class OfflineStateError(ClockError):
    """The offline state file (the clock's high-water mark) is missing, damaged, not this
    device's, or an older copy of it: offline loads stay refused until the device is online again."""

    code = "OFFLINE_STATE"


# -- transport -----------------------------------------------------------------------------


class NetworkError(AzaionError, ConnectionError):
    """The API could not be reached, or the connection broke, after bounded retries."""

    code = "NETWORK_ERROR"


class ServerError(AzaionError):
    """The API answered with a server error after bounded retries."""

    code = "SERVER_ERROR"


class CDNError(AzaionError, ConnectionError):
    """The S3 CDN refused or failed a transfer."""

    code = "CDN_ERROR"


# -- models -----------------------------------------------------------------------------------


class ModelError(AzaionError, ValueError):
    """The loaded bytes are no model the runtime accepts (wrong format, corrupt, or unsupported)."""

    code = "MODEL_INVALID"


class ModelRuntimeMissing(ModelError, ImportError):
    """The runtime a helper needs is not installed: ``pip install 'azaion[onnx]'``."""

    code = "MODEL_RUNTIME_MISSING"


__all__ = [
    "AuthenticationError",
    "AzaionError",
    "BadRequest",
    "CDNError",
    "CacheError",
    "ClockError",
    "ConfigurationError",
    "DigestMismatch",
    "DeviceError",
    "DeviceRevoked",
    "HardwareMismatch",
    "IntegrityError",
    "InvalidName",
    "InvalidToken",
    "LeaseError",
    "LeaseExpired",
    "LicenseError",
    "LicenseExpired",
    "ModelError",
    "ModelRuntimeMissing",
    "NetworkError",
    "NotAuthenticated",
    "OfflineError",
    "OfflineStateError",
    "PermissionDenied",
    "PublisherNotAllowed",
    "ResourceNotFound",
    "RollbackError",
    "ServerError",
    "SignatureError",
    "SignatureRequired",
    "StatementMismatch",
    "TooLarge",
    "TooManyAttempts",
    "UntrustedServerKeys",
    "UntrustedPublisher",
    "VersionConflict",
]
