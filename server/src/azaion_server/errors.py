"""The base of every error the API answers with, and the generic ones shared by all modules.

Modules raise subclasses of `ApiError` from their logic; `app.py` turns them into the JSON body
of docs/protocol.md in exactly one place. Messages are written for a person and never carry a
secret (password, key, token) or an internal detail.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error with a protocol code, an HTTP status and a message safe to show a client."""

    status: int = 400
    code: str = "BAD_REQUEST"
    message: str = "the request is malformed"

    def __init__(
        self,
        message: str | None = None,
        headers: dict[str, str] | None = None,
        *,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        self.message = message or type(self).message
        self.headers = headers or {}
        self.status = status or type(self).status
        self.code = code or type(self).code
        super().__init__(self.message)


class BadRequest(ApiError):
    """Malformed body or query, or any failure of the user-administration routes."""


class InvalidName(ApiError):
    """A folder or file name that docs/protocol.md does not allow."""

    code = "INVALID_NAME"
    message = "invalid folder or file name"


class Unauthorized(ApiError):
    """No usable token: missing, malformed, expired, revoked, badly signed, or its user is gone."""

    status = 401
    code = "UNAUTHORIZED"
    message = "authentication required: log in again"


class Forbidden(ApiError):
    """The caller's role may not do this."""

    status = 403
    code = "FORBIDDEN"
    message = "your role does not allow this"


class NotFound(ApiError):
    """No such thing, or not visible to this caller."""

    status = 404
    code = "NOT_FOUND"
    message = "not found"


class TooLarge(ApiError):
    """A body above the configured limit."""

    status = 413
    code = "TOO_LARGE"
    message = "the upload is larger than the server accepts"


class Internal(ApiError):
    """A bug or a broken dependency; the body says nothing more."""

    status = 500
    code = "INTERNAL"
    message = "internal server error"
