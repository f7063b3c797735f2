"""Publisher and release statement errors (codes in docs/protocol.md)."""

from __future__ import annotations

from azaion_server.errors import ApiError, BadRequest, NotFound


class InvalidPublicKey(BadRequest):
    """A key that is not a PEM ECDSA P-256 or Ed25519 public key."""

    message = "public_key must be a PEM ECDSA P-256 or Ed25519 public key"


class PublisherExists(ApiError):
    """The name or the key is registered already."""

    status = 409
    code = "CONFLICT"
    message = "a publisher with this name or key exists already"


class PublisherNotFound(NotFound):
    """No publisher with this key id."""

    message = "no such publisher"


class SignatureRequired(ApiError):
    """An unsigned upload to a folder that requires release statements."""

    status = 400
    code = "SIGNATURE_REQUIRED"
    message = "this folder requires a release statement signed by one of its publishers"


class InvalidStatement(ApiError):
    """A statement that does not parse, whose signature fails, or that names another release."""

    status = 400
    code = "SIGNATURE_INVALID"
    message = "the release statement is malformed, its signature fails, or it names another release"


class PublisherNotAllowed(ApiError):
    """A statement signed by a key that is unknown, revoked, or not allowed for this folder."""

    status = 403
    code = "PUBLISHER_NOT_ALLOWED"
    message = "the release statement is signed by a key that may not sign for this folder"


class VersionConflict(ApiError):
    """The statement's version number is not the next one: another upload came first."""

    status = 409
    code = "VERSION_CONFLICT"
    message = "the release statement's version number is not the next one; sign again and retry"
